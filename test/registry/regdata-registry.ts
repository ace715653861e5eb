/**
 * A private, minimal start/stop of Debian's docker-registry on 127.0.0.1 (plain http) for the
 * pull/push tests, until the shared test/helpers/registry.ts lands; then these tests use that.
 * Also small servers in front of it (a corrupting proxy, a fake registry) for hostile tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface TestRegistry {
  readonly host: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startRegistry(dir: string): Promise<TestRegistry> {
  await mkdir(join(dir, 'storage'), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = join(dir, 'config.yml');
    await writeFile(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`);
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const host = `127.0.0.1:${port}`;
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      const ok = await fetch(`http://${host}/v2/`).then((r) => r.status === 200, () => false);
      if (ok) return { host, stop: () => stop(child, exited) };
      await new Promise((r) => setTimeout(r, 50));
    }
    await stop(child, exited);
    if (attempt >= 2) throw new Error(`docker-registry did not start: ${err}`);
  }
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await exited;
}

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
