/**
 * One-shot containers, the part of the container API `docker run [--rm] IMAGE CMD…` uses: create
 * records what to run, attach (a hijacked connection) receives stdout/stderr in docker's
 * multiplexed frames, start runs it through the library's `run`, wait answers with the exit code,
 * logs replays the output, delete forgets it (stopping it first with force). Containers live in
 * this server's memory only: nothing of them is stored, as `wharf run` keeps nothing.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { run } from '../api/index.js';
import { HttpError, json } from './respond.js';
import type { Request, ServeOptions } from './types.js';

/** Where attached output goes: a hijacked socket, or a plain streaming reply. */
interface Sink {
  write(b: Buffer): unknown;
  end(): unknown;
}

interface Container {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly cmd: string[];
  readonly env: string[];
  readonly user: string | undefined;
  readonly workdir: string | undefined;
  readonly network: 'none' | 'host';
  readonly autoRemove: boolean;
  readonly created: string;
  state: 'created' | 'running' | 'exited';
  exitCode: number;
  error: string;
  /** Frames of output, kept for `logs` (capped). */
  readonly frames: Buffer[];
  logBytes: number;
  readonly attached: Set<Sink>;
  readonly stop: AbortController;
  readonly exited: Promise<void>;
  exit(): void;
}

const MAX_LOG_BYTES = 16 * 1024 * 1024;
const MAX_CREATE_BODY = 1024 * 1024;

/** docker's stream framing: [kind, 0, 0, 0, size (u32 BE)] + payload; 1 stdout, 2 stderr. */
export function frame(kind: 1 | 2, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head[0] = kind;
  head.writeUInt32BE(data.length, 4);
  return Buffer.concat([head, data]);
}

export class Containers {
  private readonly all = new Map<string, Container>();

  constructor(private readonly options: ServeOptions) {}

  find(idOrName: string): Container {
    const c = this.all.get(idOrName) ?? [...this.all.values()].find((x) => x.name === idOrName || (idOrName.length >= 4 && x.id.startsWith(idOrName)));
    if (!c) throw new HttpError(404, `No such container: ${idOrName}`);
    return c;
  }

  async create(r: Request): Promise<void> {
    const body = (await readJson(r, MAX_CREATE_BODY)) as { Image?: unknown; Cmd?: unknown; Entrypoint?: unknown; Env?: unknown; User?: unknown; WorkingDir?: unknown; Tty?: unknown; OpenStdin?: unknown; HostConfig?: { AutoRemove?: unknown; NetworkMode?: unknown } };
    if (typeof body.Image !== 'string' || !body.Image) throw new HttpError(400, 'containers/create: give Image');
    if (body.Tty === true) throw new HttpError(400, 'containers/create: wharf serve runs containers without a TTY (leave out -t)');
    if (body.OpenStdin === true) throw new HttpError(400, 'containers/create: wharf serve does not pass stdin to containers (leave out -i)');
    if (body.Entrypoint !== undefined && body.Entrypoint !== null) throw new HttpError(400, 'containers/create: --entrypoint is not supported by wharf serve');
    const strings = (v: unknown, what: string): string[] => {
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new HttpError(400, `containers/create: ${what} must be a list of strings`);
      return v as string[];
    };
    const mode = body.HostConfig?.NetworkMode;
    const network = mode === 'host' ? 'host' : mode === undefined || mode === '' || mode === 'default' || mode === 'none' || mode === 'bridge' ? 'none' : undefined;
    if (!network) throw new HttpError(400, `containers/create: network ${String(mode)}: wharf runs containers with none (loopback only) or host`);
    // The image must exist now, as dockerd answers 404 (the docker CLI then pulls it).
    const store = await r.openStore();
    await store.find(body.Image);
    const id = randomBytes(32).toString('hex');
    let exit!: () => void;
    const exited = new Promise<void>((resolve) => (exit = resolve));
    const c: Container = {
      id,
      name: r.query.get('name') || `wharf_${id.slice(0, 12)}`,
      image: body.Image,
      cmd: strings(body.Cmd, 'Cmd'),
      env: strings(body.Env, 'Env'),
      user: typeof body.User === 'string' && body.User ? body.User : undefined,
      workdir: typeof body.WorkingDir === 'string' && body.WorkingDir ? body.WorkingDir : undefined,
      network,
      autoRemove: body.HostConfig?.AutoRemove === true,
      created: new Date().toISOString(),
      state: 'created',
      exitCode: 0,
      error: '',
      frames: [],
      logBytes: 0,
      attached: new Set(),
      stop: new AbortController(),
      exited,
      exit,
    };
    this.all.set(id, c);
    json(r.res, 201, { Id: id, Warnings: [] });
  }

  /** The hijacked attach (Upgrade: tcp): the reply head, then frames until the container exits. */
  attach(c: Container, socket: Duplex): void {
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    this.follow(c, socket);
  }

  /** An attach without Upgrade (dockerode may ask so): the frames as a streaming reply. */
  attachPlain(r: Request, c: Container): void {
    r.res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
    r.res.flushHeaders();
    this.follow(c, r.res);
  }

  private follow(c: Container, socket: Sink & NodeJS.EventEmitter): void {
    if (c.state === 'exited') {
      socket.end();
      return;
    }
    c.attached.add(socket);
    socket.on('close', () => c.attached.delete(socket));
    socket.on('error', () => c.attached.delete(socket));
  }

  start(r: Request, c: Container): void {
    if (c.state !== 'created') {
      r.res.writeHead(304).end();
      return;
    }
    c.state = 'running';
    const emit = (kind: 1 | 2) => (line: string) => {
      const f = frame(kind, Buffer.from(line + '\n'));
      if (c.logBytes + f.length <= MAX_LOG_BYTES) {
        c.frames.push(f);
        c.logBytes += f.length;
      }
      for (const s of c.attached) s.write(f);
    };
    void run(
      {
        root: this.options.root,
        image: c.image,
        cmd: c.cmd,
        env: c.env,
        ...(c.user ? { user: c.user } : {}),
        ...(c.workdir ? { workdir: c.workdir } : {}),
        network: c.network,
        ...(this.options.searchPath !== undefined ? { searchPath: this.options.searchPath } : {}),
      },
      { onStdout: emit(1), onStderr: emit(2), signal: c.stop.signal },
    ).then(
      ({ exitCode }) => (c.exitCode = exitCode),
      (e: unknown) => {
        c.exitCode = c.stop.signal.aborted ? 137 : 125;
        c.error = e instanceof Error ? e.message : String(e);
        emit(2)(`wharf: ${c.error}`);
      },
    ).finally(() => {
      c.state = 'exited';
      for (const s of c.attached) s.end();
      c.exit();
      if (c.autoRemove) this.all.delete(c.id);
    });
    r.res.writeHead(204).end();
  }

  /** POST /containers/{id}/wait: the exit code once it exits (condition not-running, next-exit or removed). */
  async wait(r: Request, c: Container): Promise<void> {
    r.res.writeHead(200, { 'Content-Type': 'application/json' });
    // Headers now: the docker CLI waits for them before it starts the container.
    r.res.flushHeaders();
    await Promise.race([c.exited, new Promise((resolve) => r.signal.addEventListener('abort', resolve, { once: true }))]);
    r.res.end(JSON.stringify({ StatusCode: c.exitCode, Error: c.error ? { Message: c.error } : null }) + '\n');
  }

  logs(r: Request, c: Container): void {
    const stdout = ['1', 'true'].includes(r.query.get('stdout') ?? '');
    const stderr = ['1', 'true'].includes(r.query.get('stderr') ?? '');
    r.res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
    for (const f of c.frames) if ((f[0] === 1 && stdout) || (f[0] === 2 && stderr)) r.res.write(f);
    r.res.end();
  }

  async remove(r: Request, c: Container): Promise<void> {
    const force = ['1', 'true'].includes(r.query.get('force') ?? '');
    if (c.state === 'running') {
      if (!force) throw new HttpError(409, `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
      c.stop.abort(new Error('removed'));
      await c.exited;
    }
    this.all.delete(c.id);
    r.res.writeHead(204).end();
  }

  inspect(r: Request, c: Container): void {
    json(r.res, 200, {
      Id: c.id,
      Created: c.created,
      Name: `/${c.name}`,
      Image: c.image,
      State: { Status: c.state, Running: c.state === 'running', ExitCode: c.exitCode, Error: c.error },
      Config: { Image: c.image, Cmd: c.cmd, Env: c.env, Tty: false, AttachStdout: true, AttachStderr: true },
      HostConfig: { AutoRemove: c.autoRemove, NetworkMode: c.network },
    });
  }

  /** Stops every running container (server shutdown). */
  async stopAll(): Promise<void> {
    for (const c of this.all.values()) if (c.state === 'running') c.stop.abort(new Error('the server is stopping'));
    await Promise.all([...this.all.values()].filter((c) => c.state === 'running').map((c) => c.exited));
  }
}

async function readJson(r: Request, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of r.req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) throw new HttpError(413, `the request body is over ${max} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
  } catch {
    throw new HttpError(400, 'the request body is not JSON');
  }
}
