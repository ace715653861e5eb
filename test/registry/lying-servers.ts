/**
 * Small servers on 127.0.0.1 in front of a test registry (test/helpers/registry.ts starts that):
 * a proxy that corrupts what passes, and a fake registry, for the hostile pull tests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => Promise<void>;

/** An http server on 127.0.0.1 (free port) answering with `handler`. */
export async function startServer(handler: Handler): Promise<{ host: string; stop(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      handler(req, Buffer.concat(parts), res).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** Forwards to `upstream`; `mutate` may change a response body before it is sent. */
export function proxyTo(upstream: string, mutate: (path: string, body: Buffer) => Buffer, rewrite: (path: string) => string = (p) => p): Handler {
  return async (req, body, res) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers[k] = v;
    const up = await fetch(`http://${upstream}${rewrite(req.url ?? '/')}`, { method: req.method!, headers, redirect: 'manual', ...(body.length ? { body } : {}) });
    const out = mutate(req.url ?? '', Buffer.from(await up.arrayBuffer()));
    const keep = ['content-type', 'docker-content-digest', 'location', 'docker-distribution-api-version'];
    for (const k of keep) {
      const v = up.headers.get(k);
      if (v) res.setHeader(k, v);
    }
    res.statusCode = up.status;
    res.setHeader('content-length', req.method === 'HEAD' ? (up.headers.get('content-length') ?? '0') : String(out.length));
    res.end(req.method === 'HEAD' ? undefined : out);
  };
}
