import { spawn } from 'node:child_process';
import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * A plain HTTP proxy in front of a test registry that counts what crosses it: blob bytes served
 * (downloads), blob bytes received (uploads, with the digests they completed) and blob mounts.
 * Clients talk to it as if it were the registry (the Host header is kept, so the registry's
 * upload Location URLs point back here). It runs in a child process, because the tests run wharf
 * synchronously; `/__stats` and `/__reset` on it read and clear the counts.
 */
export interface CountingProxy {
  readonly port: number;
  /** `127.0.0.1:PORT`, the domain of references through the proxy. */
  readonly host: string;
  stats(): Promise<ProxyStats>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export interface ProxyStats {
  /** Bytes of GET …/blobs/<digest> responses. */
  downloadedBytes: number;
  /** Digests of those GETs that answered 200. */
  downloaded: string[];
  /** Bytes of PATCH/PUT request bodies to …/blobs/uploads/. */
  uploadedBytes: number;
  /** Digests of uploads completed by a PUT (201). */
  uploaded: string[];
  /** Digests mounted by POST …/blobs/uploads/?mount= (201). */
  mounted: string[];
}

export async function startCountingProxy(upstreamPort: number): Promise<CountingProxy> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), String(upstreamPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.on('exit', (code) => reject(new Error(`counting proxy exited (${code})`)));
  });
  const host = `127.0.0.1:${port}`;
  return {
    port,
    host,
    stats: async () => JSON.parse(await control(port, 'GET', '/__stats')) as ProxyStats,
    reset: async () => {
      await control(port, 'POST', '/__reset');
    },
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

/**
 * A request to the proxy's own endpoints on a connection of its own: the callers block in
 * spawnSync for longer than the server keeps an idle connection, and a pooled one (global fetch)
 * it has closed meanwhile fails with "other side closed".
 */
function control(port: number, method: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function serveProxy(upstreamPort: number): Promise<void> {
  // One upstream connection per request: a pooled one the registry has closed could leave a request unanswered.
  const agent = new Agent({ keepAlive: false });
  let s: ProxyStats = empty();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/__stats' || url.pathname === '/__reset') {
      if (url.pathname === '/__reset') s = empty();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(s));
      return;
    }
    const isBlobGet = req.method === 'GET' && /\/blobs\/sha256:[0-9a-f]{64}$/.test(url.pathname);
    const isUpload = (req.method === 'PATCH' || req.method === 'PUT') && url.pathname.includes('/blobs/uploads/');
    const up = request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers, agent }, (ur) => {
      if (ur.statusCode === 201 && req.method === 'PUT' && isUpload) s.uploaded.push(url.searchParams.get('digest') ?? '?');
      if (ur.statusCode === 201 && req.method === 'POST' && url.searchParams.has('mount')) s.mounted.push(url.searchParams.get('mount')!);
      if (isBlobGet && ur.statusCode === 200) s.downloaded.push(url.pathname.slice(url.pathname.lastIndexOf('/') + 1));
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.on('data', (c: Buffer) => {
        if (isBlobGet && ur.statusCode === 200) s.downloadedBytes += c.length;
      });
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.on('data', (c: Buffer) => {
      if (isUpload) s.uploadedBytes += c.length;
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    agent.destroy();
  });
}

const empty = (): ProxyStats => ({ downloadedBytes: 0, downloaded: [], uploadedBytes: 0, uploaded: [], mounted: [] });

if (process.argv[1] === fileURLToPath(import.meta.url)) void serveProxy(Number(process.argv[2]));
