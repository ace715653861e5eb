/**
 * `wharf serve`: the Docker Engine API (v1.41, what docker 20.10 speaks) over a unix socket or a
 * loopback TCP port, for the subset the docker CLI and dockerode use to build and handle images.
 * Every request opens the store as a CLI command does, so concurrent requests (and CLI commands
 * beside the server) share it under the same locks.
 *
 * Contract: an endpoint outside the subset answers 501 naming itself; a body or head over its
 * limit is refused (413 / 431); a client that goes away aborts its request (a build is cancelled
 * and cleans up); `close()` stops accepting, lets running requests finish within a bound, then
 * cuts what is left.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { chmod, chown, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { arch, release } from 'node:os';
import { login, openStore, UserError } from '../api/index.js';
import type { Duplex } from 'node:stream';
import { handleBuild } from './build.js';
import { loadTls } from './tls.js';
import { Containers } from './containers.js';
import { createImage, imageHistory, inspectImage, listImages, loadImages, pruneBuildCache, pruneImages, pushImage, removeImage, saveImages, tagImage } from './images.js';
import { HttpError, json, messageOf, statusOf, text } from './respond.js';
import { API_VERSION, MIN_API_VERSION, type Handler, type Request, type ServeOptions } from './types.js';
import { nowMs } from '../util/index.js';

export interface RunningServer {
  /** Where it listens (`unix:///…` or `tcp://127.0.0.1:PORT`, with the port chosen when 0 was asked). */
  readonly address: string;
  /** Stops accepting; resolves once running requests ended (or were cut after `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

type Route = readonly [method: string, pattern: RegExp, handler: Handler];

const ROUTES: readonly Route[] = [
  ['GET', /^\/_ping$/, async (r) => ping(r)],
  ['HEAD', /^\/_ping$/, async (r) => ping(r)],
  ['GET', /^\/version$/, async (r) => json(r.res, 200, versionBody(r.options.version))],
  ['GET', /^\/info$/, async (r) => json(r.res, 200, await infoBody(r))],
  ['POST', /^\/build$/, handleBuild],
  ['POST', /^\/build\/prune$/, pruneBuildCache],
  ['GET', /^\/images\/json$/, listImages],
  ['GET', /^\/images\/get$/, (r) => saveImages(r, [])],
  ['POST', /^\/images\/load$/, loadImages],
  ['POST', /^\/images\/create$/, createImage],
  ['POST', /^\/images\/prune$/, pruneImages],
  ['GET', /^\/images\/(.+)\/json$/, inspectImage],
  ['GET', /^\/images\/(.+)\/history$/, imageHistory],
  ['GET', /^\/images\/(.+)\/get$/, saveImages],
  ['POST', /^\/images\/(.+)\/tag$/, tagImage],
  ['POST', /^\/images\/(.+)\/push$/, pushImage],
  ['DELETE', /^\/images\/(.+)$/, removeImage],
  ['POST', /^\/auth$/, auth],
];

/** The container endpoints (create, start, run, ps, stop, kill, rm, commit); `docker inspect NAME` asks for a container first, and a 404 sends it on to the image. */
function containerRoutes(containers: Containers): Route[] {
  const one = (f: (r: Request, c: ReturnType<Containers['find']>) => void | Promise<void>): Handler => async (r, [id]) => f(r, containers.find(id!));
  return [
    ['POST', /^\/containers\/create$/, (r) => containers.create(r)],
    ['POST', /^\/containers\/([^/]+)\/start$/, one((r, c) => containers.start(r, c))],
    ['POST', /^\/containers\/([^/]+)\/wait$/, one((r, c) => containers.wait(r, c))],
    ['POST', /^\/containers\/([^/]+)\/attach$/, one((r, c) => containers.attachPlain(r, c))],
    ['GET', /^\/containers\/([^/]+)\/logs$/, one((r, c) => containers.logs(r, c))],
    ['GET', /^\/containers\/([^/]+)\/json$/, one((r, c) => containers.inspect(r, c))],
    ['DELETE', /^\/containers\/([^/]+)$/, one((r, c) => containers.remove(r, c))],
    ['GET', /^\/containers\/json$/, (r) => containers.list(r)],
    ['POST', /^\/containers\/([^/]+)\/stop$/, one((r, c) => containers.stop(r, c))],
    ['POST', /^\/containers\/([^/]+)\/kill$/, one((r, c) => containers.kill(r, c))],
    ['POST', /^\/commit$/, (r) => containers.commit(r)],
  ];
}

function ping(r: Request): void {
  r.res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
  r.res.setHeader('Pragma', 'no-cache');
  if (r.method === 'HEAD') r.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 }).end();
  else text(r.res, 200, 'OK');
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

function versionBody(version: string): Record<string, unknown> {
  return {
    Platform: { Name: 'wharf' },
    Components: [{ Name: 'Engine', Version: version, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: GOARCH[arch()] ?? arch() } }],
    Version: version,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: `node ${process.version}`,
    Os: 'linux',
    Arch: GOARCH[arch()] ?? arch(),
    KernelVersion: release(),
    BuildTime: '',
  };
}

async function infoBody(r: Request): Promise<Record<string, unknown>> {
  const store = await r.openStore();
  const { entries } = await store.images();
  return {
    ID: 'wharf',
    Containers: 0,
    ContainersRunning: 0,
    ContainersPaused: 0,
    ContainersStopped: 0,
    Images: new Set(entries.map((e) => e.image.id)).size,
    Driver: 'overlay',
    DockerRootDir: r.options.root,
    OperatingSystem: 'wharf',
    OSType: 'linux',
    Architecture: GOARCH[arch()] ?? arch(),
    KernelVersion: release(),
    Name: hostname(),
    ServerVersion: r.options.version,
    RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'] },
    IndexServerAddress: 'https://index.docker.io/v1/',
    Labels: [],
    ExperimentalBuild: false,
    Warnings: [],
  };
}

/** POST /auth: checks the credentials against the registry, as `docker login` asks dockerd to. */
async function auth(r: Request): Promise<void> {
  const body = await readJson(r.req, 64 * 1024);
  const b = body as { username?: unknown; password?: unknown; serveraddress?: unknown };
  if (typeof b.username !== 'string' || typeof b.password !== 'string') throw new HttpError(400, 'auth: give username and password');
  const server = typeof b.serveraddress === 'string' && b.serveraddress ? b.serveraddress : 'docker.io';
  try {
    // Checked only: docker keeps the credentials on the client side and sends them with each push.
    await login({ server, username: b.username, password: b.password, registry: r.options.registry, save: false });
  } catch (e) {
    throw new HttpError(401, messageOf(e));
  }
  json(r.res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) throw new HttpError(413, `the request body is over ${max} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'the request body is not JSON');
  }
}

/** `/v1.41/images/json` → `/images/json` (any `/vX.Y` prefix; the CLI negotiates down to ours). */
export function stripVersion(path: string): string {
  return path.replace(/^\/v\d+\.\d+(?=\/)/, '');
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * `unix:///path` or `tcp://HOST:PORT`; anything else is a UserError naming it. TCP on an address
 * other than loopback only with `--tlsverify` (`tlsVerify`): the API runs builds as this user.
 */
export function parseHost(host: string, tlsVerify = false): { unix: string } | { tcp: { host: string; port: number } } {
  if (host.startsWith('unix://')) {
    const path = host.slice('unix://'.length);
    if (!path.startsWith('/')) throw new UserError('serve.bad-host', `--host ${host}: give an absolute socket path`, 'e.g. --host unix:///run/wharf.sock');
    return { unix: path };
  }
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(host);
  if (!m) throw new UserError('serve.bad-host', `--host ${host}: not unix:///PATH or tcp://HOST:PORT`, 'e.g. --host unix:///run/wharf.sock or --host tcp://127.0.0.1:2375');
  if (!LOOPBACK.has(m[1]!) && !tlsVerify) {
    throw new UserError(
      'serve.non-loopback',
      `--host ${host}: refused without --tlsverify: anyone who reaches that address could run builds (code) as this user`,
      'serve it with client certificates (--tlsverify --tlscacert CA --tlscert CERT --tlskey KEY), or use tcp://127.0.0.1:PORT or a unix socket',
    );
  }
  return { tcp: { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) } };
}

/** The gid of the `docker` group, when there is one (the socket is then group docker, as dockerd's). */
async function dockerGid(): Promise<number | undefined> {
  const groups = await readFile('/etc/group', 'utf8').catch(() => '');
  const line = groups.split('\n').find((l) => l.startsWith('docker:'));
  const gid = line ? Number(line.split(':')[2]) : NaN;
  return Number.isInteger(gid) ? gid : undefined;
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const tls = await loadTls(options.tls, options.host);
  const where = parseHost(options.host, tls?.requestCert === true);
  const active = new Set<AbortController>();
  const containers = await Containers.open(options);
  const routes = [...ROUTES, ...containerRoutes(containers)];
  const httpOptions = { maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024, requestTimeout: 0 };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  const server: Server = tls ? createTlsServer({ ...httpOptions, ...tls }, onRequest) : createServer(httpOptions, onRequest);
  // A client refused in the handshake (no certificate, one from another CA, plain HTTP) gets one log line.
  server.on('tlsClientError', (e: NodeJS.ErrnoException & { reason?: string }, socket: { remoteAddress?: string }) => {
    options.log(`${socket.remoteAddress ?? '-'} TLS refused: ${e.reason ?? e.message.split('\n')[0]} (${e.code ?? 'tls'})`);
  });
  server.on('clientError', (e: NodeJS.ErrnoException, socket) => {
    // The same TLS refusal also arrives here; tlsClientError logged it, and there is no HTTP to answer.
    if (e.code?.startsWith('ERR_SSL_')) {
      socket.destroy();
      return;
    }
    // Node's own refusals: a head over maxHeaderSize, a malformed request.
    const status = e.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    options.log(`- - ${status.slice(0, 3)} (${e.code ?? e.message})`);
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });

  // `docker run` attaches with `Upgrade: tcp` and reads docker's frames from the raw socket.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const url = new URL(req.url ?? '/', 'http://wharf');
    const m = /^\/containers\/([^/]+)\/attach$/.exec(stripVersion(url.pathname));
    let status = 101;
    try {
      if (!m || req.method !== 'POST') throw new HttpError(501, `wharf serve does not implement an upgrade of ${req.method} ${url.pathname}`);
      containers.attach(containers.find(decodeURIComponent(m[1]!)), socket);
    } catch (e) {
      status = statusOf(e);
      const body = JSON.stringify({ message: messageOf(e) });
      socket.end(`HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    options.log(`${req.method} ${url.pathname}${url.search} ${status} (upgraded)`);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = nowMs();
    const controller = new AbortController();
    active.add(controller);
    // The client went away before the reply was complete: cancel what it asked for.
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new UserError('serve.client-gone', 'the client disconnected'));
    });
    const url = new URL(req.url ?? '/', 'http://wharf');
    const path = stripVersion(url.pathname);
    const method = req.method ?? 'GET';
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
    res.setHeader('Server', `wharf/${options.version}`);
    const notes: string[] = [];
    const r: Request = { req, res, method, path, query: url.searchParams, options, signal: controller.signal, openStore: () => openStore(options.root), note: (t) => notes.push(t) };
    try {
      const route = routes.map(([m, re, h]) => [m, re.exec(path), h] as const).find(([m, match]) => match && m === method);
      if (!route) {
        // Nobody reads it: drained so the connection can be reused.
        req.resume();
        json(res, 501, { message: `wharf serve does not implement ${method} ${path} (it serves the image and build subset of the Docker Engine API v${API_VERSION})` });
      } else {
        await route[2](r, route[1]!.slice(1).map((p) => decodeURIComponent(p)));
      }
    } catch (e) {
      // A body that was not read (refused before, or cut short) ends the connection with the reply.
      if (!req.complete) res.setHeader('Connection', 'close');
      req.resume();
      const status = statusOf(e);
      if (!res.headersSent) json(res, status, { message: messageOf(e) });
      else res.end();
      if (status === 500 && !controller.signal.aborted) options.log(`internal error on ${method} ${path}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    } finally {
      active.delete(controller);
      const ms = Math.round(nowMs() - t0);
      options.log(`${method} ${url.pathname}${url.search} ${res.statusCode}${controller.signal.aborted ? ' (client gone)' : ''} ${ms}ms${notes.map((n) => `; ${n}`).join('')}`);
    }
  }

  let address: string;
  if ('unix' in where) {
    // A socket left by a server that died is replaced; anything else at that path is not ours.
    const st = await stat(where.unix).catch(() => undefined);
    if (st && !st.isSocket()) throw new UserError('serve.path-taken', `--host unix://${where.unix}: the path exists and is not a socket`, 'choose another path');
    if (st) await rm(where.unix);
    await listen(server, where.unix);
    await chmod(where.unix, 0o660);
    const gid = await dockerGid();
    if (gid !== undefined) await chown(where.unix, process.getuid?.() ?? 0, gid).catch(() => undefined);
    address = `unix://${where.unix}`;
  } else {
    await listen(server, where.tcp.port, where.tcp.host);
    const a = server.address();
    address = `tcp://${where.tcp.host.includes(':') ? `[${where.tcp.host}]` : where.tcp.host}:${typeof a === 'object' && a ? a.port : where.tcp.port}`;
  }

  return {
    address,
    async close(graceMs = 60_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const c of active) c.abort(new UserError('serve.stopping', 'the server is stopping'));
        server.closeAllConnections();
      }, graceMs);
      await closed;
      clearTimeout(timer);
      await containers.stopAll();
      if ('unix' in where) await rm(where.unix, { force: true });
    },
  };
}

function listen(server: Server, ...args: [string] | [number, string]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new UserError('serve.listen', `cannot listen on ${args.join(':')}: ${e.code ?? e.message}`, e.code === 'EADDRINUSE' ? 'another server uses it: stop it or choose another --host' : 'check the path or port')));
    server.listen(...(args as [number, string]), () => resolve());
  });
}
