/**
 * GET and HEAD over plain http on node:http, for registries already known to speak plain http
 * (loopback or --insecure-registry hosts; endpoint.ts) and reached without a proxy. Loading undici
 * and its fetch costs ~35 ms, most of a `wharf pull` that finds the image already present
 * (bench/README.md); node:http is part of Node's start-up. Everything else (TLS, proxies, request
 * bodies) stays on undici. The answer is a Response as far as the registry module reads one:
 * status, ok, headers.get, text() and a WHATWG body stream. A redirect is not followed here: the
 * caller sends the request again through undici's fetch, which follows it.
 */
import { request, type Agent, type IncomingMessage } from 'node:http';

export interface PlainInit {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** Resolves with the answer once its headers are in; `timeoutMs` is an idle timeout (connect, headers, each body chunk). */
export function plainRequest(url: string, init: PlainInit, agent: Agent, timeoutMs: number): Promise<Response> {
  return new Promise((resolve, reject) => {
    init.signal?.throwIfAborted();
    const req = request(url, { method: init.method, headers: init.headers, agent, timeout: timeoutMs });
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
    req.end();
  });
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
