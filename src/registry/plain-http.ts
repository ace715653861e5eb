/**
 * Requests over plain http on node:http, for registries already known to speak plain http
 * (loopback or --insecure-registry hosts; endpoint.ts) and reached without a proxy. Loading undici
 * and its fetch costs ~35 ms, most of a `wharf pull` that finds the image already present
 * (bench/README.md); node:http is part of Node's start-up. A request body (a push's blob) is
 * written chunk by chunk onto the socket: through undici's fetch every chunk was cloned into a web
 * stream (a push used ~2.5× skopeo's CPU). Everything else (TLS, proxies) stays on undici. The answer is a Response as far as the registry module reads one:
 * status, ok, headers.get, text() and a WHATWG body stream. A redirect is not followed here: the
 * caller sends the request again through undici's fetch, which follows it.
 */
import { once } from 'node:events';
import { request, type Agent, type ClientRequest, type IncomingMessage } from 'node:http';

export interface PlainInit {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Sent with Content-Length when bytes, chunked when an iterable. */
  readonly body?: Uint8Array | AsyncIterable<Uint8Array>;
  readonly signal?: AbortSignal;
}

/** Resolves with the answer once its headers are in; `timeoutMs` is an idle timeout (connect, headers, each body chunk). */
export function plainRequest(url: string, init: PlainInit, agent: Agent, timeoutMs: number): Promise<Response> {
  return new Promise((resolve, reject) => {
    init.signal?.throwIfAborted();
    const body = init.body;
    const headers = body instanceof Uint8Array ? { ...init.headers, 'Content-Length': String(body.length) } : init.headers;
    const req = request(url, { method: init.method, headers, agent, timeout: timeoutMs });
    const onAbort = () => req.destroy(init.signal!.reason as Error);
    init.signal?.addEventListener('abort', onAbort, { once: true });
    let answer: IncomingMessage | undefined;
    // The codes undici gives, so these errors read as its do (net-errors.ts): a timeout is not retried.
    req.on('timeout', () => {
      const e = Object.assign(new Error(`no data within ${timeoutMs} ms`), { code: answer ? 'UND_ERR_BODY_TIMEOUT' : 'UND_ERR_HEADERS_TIMEOUT' });
      if (answer) answer.destroy(e);
      else req.destroy(e);
    });
    req.on('error', (e) => {
      init.signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    req.on('response', (res) => {
      answer = res;
      res.on('close', () => init.signal?.removeEventListener('abort', onAbort));
      resolve(asResponse(url, res, init.method === 'HEAD'));
    });
    if (body === undefined || body instanceof Uint8Array) req.end(body);
    else
      writeBody(req, body).catch((e: unknown) => {
        // A failed read of the body (a blob found corrupt) is the request's failure, as it is.
        req.destroy();
        reject(e);
      });
  });
}

/**
 * Streams `body` into the request, waiting for drains. An answer that comes before the body was
 * all sent (a 401, an error) stops the writing; the half-sent request's socket is then closed once
 * that answer has been read, so it is never reused.
 */
async function writeBody(req: ClientRequest, body: AsyncIterable<Uint8Array>): Promise<void> {
  let answer: IncomingMessage | undefined;
  let closed = false;
  const over = new Promise<void>((resolve) => {
    req.once('response', (res: IncomingMessage) => resolve(void (answer = res)));
    req.once('close', () => resolve(void (closed = true)));
  });
  for await (const c of body) {
    if (answer || closed) break;
    if (!req.write(c)) await Promise.race([once(req, 'drain'), over]);
  }
  if (!answer && !closed) return void req.end();
  if (answer && !closed) {
    if (answer.complete) req.destroy();
    else answer.once('close', () => req.destroy());
  }
}

function asResponse(url: string, res: IncomingMessage, head: boolean): Response {
  const status = res.statusCode ?? 0;
  const noBody = head || status === 204 || status === 304;
  if (noBody) res.resume();
  // A body cut short (fewer bytes than Content-Length) ends the stream with an error, as with fetch.
  const body = noBody ? null : (nodeBody(res) as unknown as ReadableStream<Uint8Array>);
  const headers = {
    get(name: string): string | null {
      const v = res.headers[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };
  const response = {
    status,
    statusText: res.statusMessage ?? '',
    ok: status >= 200 && status < 300,
    url,
    redirected: false,
    headers,
    body,
    async text(): Promise<string> {
      if (!body) return '';
      const chunks: Uint8Array[] = [];
      for await (const c of body as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
  return response as unknown as Response;
}

/**
 * The part of a WHATWG body stream the registry module uses (async iteration, getReader().read,
 * cancel), read straight from the IncomingMessage: through Readable.toWeb every ~64 KiB socket
 * chunk took several promise hops and a queue (~100 ms of a 200 MB pull's main thread).
 */
function nodeBody(res: IncomingMessage) {
  const cancel = async () => void res.destroy();
  return {
    [Symbol.asyncIterator]: () => res[Symbol.asyncIterator]() as AsyncIterator<Buffer>,
    cancel,
    getReader() {
      const it = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      return { read: () => it.next(), cancel, releaseLock: () => undefined };
    },
  };
}
