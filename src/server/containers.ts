/**
 * The container endpoints, on the same machinery as `wharf container …` (src/container through
 * api.containers): create makes a record under the store (so `wharf ps -a` lists it), start runs
 * its process with this server as its watcher, attach (a hijacked connection) receives
 * stdout/stderr in docker's multiplexed frames, wait answers with the exit code, and stop, kill,
 * rm, ps (`/containers/json`) and commit (`/commit`) act on any container of the store, also
 * those the CLI made. Output of the containers started here is kept in memory for `logs` (per
 * stream) and appended to the container's log file (for `wharf logs`).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { isUserError, loadContainers, type containers, type ContainersApi } from '../api/index.js';
import { HttpError, json } from './respond.js';
import type { Request, ServeOptions } from './types.js';

type ContainerRecord = containers.ContainerRecord;

/** Where attached output goes: a hijacked socket, or a plain streaming reply. */
interface Sink {
  write(b: Buffer): unknown;
  end(): unknown;
}

/** A container this server watches (started here): its attached clients and output. */
interface Watched {
  readonly attached: Set<Sink>;
  /** Frames of output, kept for `logs` (capped). */
  readonly frames: Buffer[];
  logBytes: number;
  running: boolean;
  exitCode: number;
  error: string;
  readonly exited: Promise<void>;
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

const yes = (v: string | null): boolean => v === '1' || v === 'true';

export class Containers {
  private deps: Promise<containers.ContainerDeps> | undefined;
  /** By container ID: those started here (kept after they exit for logs and wait). */
  private readonly watched = new Map<string, Watched>();
  /** Attached before their start (as `docker run` and `docker start -a` do), by container ID. */
  private readonly pending = new Map<string, Set<Sink>>();
  /** `--rm` containers: removed once their process ends (this server's memory only). */
  private readonly autoRemove = new Set<string>();

  /** The containers API is loaded with the first server (api/lazy.ts: it pulls in the runtime). */
  static async open(options: ServeOptions): Promise<Containers> {
    return new Containers(options, await loadContainers());
  }

  private constructor(
    private readonly options: ServeOptions,
    private readonly api: ContainersApi,
  ) {}

  private open(): Promise<containers.ContainerDeps> {
    return (this.deps ??= this.api.openContainers(this.options.root));
  }

  find(idOrName: string): ContainerRecord {
    try {
      return this.api.findRecord(this.options.root, idOrName);
    } catch (e) {
      if (isUserError(e)) throw new HttpError(404, `No such container: ${idOrName}`);
      throw e;
    }
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
    // docker's default network is its bridge: here slirp4netns outbound NAT, as RUN steps have.
    const network = mode === 'host' || mode === 'none' ? mode : mode === undefined || mode === '' || mode === 'default' || mode === 'bridge' ? 'default' : undefined;
    if (!network) throw new HttpError(400, `containers/create: network ${String(mode)}: wharf runs containers with bridge (outbound NAT), none (loopback only) or host`);
    // The image must exist now, as dockerd answers 404 (the docker CLI then pulls it).
    const store = await r.openStore();
    await store.find(body.Image);
    const name = r.query.get('name') || undefined;
    const user = typeof body.User === 'string' && body.User ? body.User : undefined;
    const workdir = typeof body.WorkingDir === 'string' && body.WorkingDir ? body.WorkingDir : undefined;
    let rec: ContainerRecord;
    try {
      rec = await this.api.createContainer(await this.open(), {
        image: body.Image, cmd: strings(body.Cmd, 'Cmd'), env: strings(body.Env, 'Env'), network,
        ...(name ? { name } : {}), ...(user ? { user } : {}), ...(workdir ? { workdir } : {}),
      });
    } catch (e) {
      if (isUserError(e) && e.code === 'container.name-in-use') throw new HttpError(409, `Conflict. ${e.message}`);
      throw e;
    }
    if (body.HostConfig?.AutoRemove === true) this.autoRemove.add(rec.id);
    json(r.res, 201, { Id: rec.id, Warnings: [] });
  }

  /** The hijacked attach (Upgrade: tcp): the reply head, then frames until the container exits. */
  attach(c: ContainerRecord, socket: Duplex): void {
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    this.follow(c, socket);
  }

  /** An attach without Upgrade (dockerode may ask so): the frames as a streaming reply. */
  attachPlain(r: Request, c: ContainerRecord): void {
    r.res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
    r.res.flushHeaders();
    this.follow(c, r.res);
  }

  private follow(c: ContainerRecord, socket: Sink & NodeJS.EventEmitter): void {
    const w = this.watched.get(c.id);
    let set = w?.running ? w.attached : this.pending.get(c.id);
    if (!set) this.pending.set(c.id, (set = new Set()));
    const into = set;
    into.add(socket);
    socket.on('close', () => into.delete(socket));
    socket.on('error', () => into.delete(socket));
  }

  async start(r: Request, c: ContainerRecord): Promise<void> {
    const deps = await this.open();
    if (await this.api.isRunning(this.options.root, c)) {
      r.res.writeHead(304).end();
      return;
    }
    let exit!: () => void;
    const w: Watched = {
      attached: this.pending.get(c.id) ?? new Set(), frames: [], logBytes: 0, running: true, exitCode: 0, error: '',
      exited: new Promise<void>((resolve) => (exit = resolve)),
    };
    this.pending.delete(c.id);
    this.watched.set(c.id, w);
    const logFile = this.api.pathsOf(this.options.root, c.id).log;
    const emit = (kind: 1 | 2) => (line: string) => {
      const f = frame(kind, Buffer.from(line + '\n'));
      if (w.logBytes + f.length <= MAX_LOG_BYTES) {
        w.frames.push(f);
        w.logBytes += f.length;
        try {
          appendFileSync(logFile, line + '\n', { mode: 0o600 });
        } catch {
          // removed meanwhile (rm -f)
        }
      }
      for (const s of w.attached) s.write(f);
    };
    const begun = new Date().toISOString();
    const done = this.api.runContainerProcess(deps, c.id, { kind: 'lines', stdout: emit(1), stderr: emit(2) }).then(
      ({ exitCode }) => {
        w.exitCode = exitCode;
      },
      (e: unknown) => {
        w.exitCode = 125;
        w.error = e instanceof Error ? e.message : String(e);
        emit(2)(`wharf: ${w.error}`);
        throw e;
      },
    ).finally(async () => {
      w.running = false;
      for (const s of w.attached) s.end();
      if (this.autoRemove.delete(c.id)) await this.api.removeContainer(deps, c.id, true).catch(() => undefined);
      exit();
    });
    // Answer once the record says running (so a `ps` right after lists it), or with the failure to start.
    const started = (async () => {
      for (;;) {
        const now = this.api.readRecord(this.options.root, c.id);
        if (!now || (now.state.status === 'running' && now.state.monitorPid === process.pid) || (now.state.finishedAt ?? '') >= begun) return;
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    await Promise.race([started, done]);
    done.catch(() => undefined);
    r.res.writeHead(204).end();
  }

  /** POST /containers/{id}/wait: the exit code once it exits (condition not-running, next-exit or removed). */
  async wait(r: Request, c: ContainerRecord): Promise<void> {
    const condition = r.query.get('condition') || 'not-running';
    const since = new Date().toISOString();
    r.res.writeHead(200, { 'Content-Type': 'application/json' });
    // Headers now: the docker CLI waits for them before it starts the container.
    r.res.flushHeaders();
    const ended = async (): Promise<boolean> => {
      const now = this.api.readRecord(this.options.root, c.id);
      if (!now) return true;
      if (condition === 'removed') return false;
      if (condition === 'next-exit') return now.state.status === 'exited' && (now.state.finishedAt ?? '') >= since && !this.watched.get(c.id)?.running;
      return !(await this.api.isRunning(this.options.root, now)) && !this.watched.get(c.id)?.running;
    };
    while (!r.signal.aborted && !(await ended())) await new Promise((res) => setTimeout(res, 50));
    const w = this.watched.get(c.id);
    const exitCode = w ? w.exitCode : (this.api.readRecord(this.options.root, c.id)?.state.exitCode ?? 0);
    r.res.end(JSON.stringify({ StatusCode: exitCode, Error: w?.error ? { Message: w.error } : null }) + '\n');
  }

  logs(r: Request, c: ContainerRecord): void {
    const stdout = yes(r.query.get('stdout'));
    const stderr = yes(r.query.get('stderr'));
    r.res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
    const w = this.watched.get(c.id);
    if (w) {
      for (const f of w.frames) if ((f[0] === 1 && stdout) || (f[0] === 2 && stderr)) r.res.write(f);
    } else if (stdout) {
      // Started by the CLI: its log file has both streams in one.
      try {
        const text = readFileSync(this.api.pathsOf(this.options.root, c.id).log);
        if (text.length) r.res.write(frame(1, text));
      } catch {
        // no output yet
      }
    }
    r.res.end();
  }

  async stop(r: Request, c: ContainerRecord): Promise<void> {
    const t = Number(r.query.get('t') ?? '10');
    if (!(await this.api.isRunning(this.options.root, c))) {
      r.res.writeHead(304).end();
      return;
    }
    await this.api.stopContainer(await this.open(), c.id, Number.isFinite(t) && t >= 0 ? t : 10);
    r.res.writeHead(204).end();
  }

  async kill(r: Request, c: ContainerRecord): Promise<void> {
    await this.api.killContainer(await this.open(), c.id, r.query.get('signal') || 'KILL').catch((e: unknown) => {
      if (isUserError(e) && e.code === 'container.not-running') throw new HttpError(409, `Container ${c.id} is not running`);
      throw e;
    });
    r.res.writeHead(204).end();
  }

  async remove(r: Request, c: ContainerRecord): Promise<void> {
    try {
      await this.api.removeContainer(await this.open(), c.id, yes(r.query.get('force')));
    } catch (e) {
      if (isUserError(e) && e.code === 'container.running') {
        throw new HttpError(409, `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
      }
      throw e;
    }
    this.autoRemove.delete(c.id);
    const w = this.watched.get(c.id);
    if (w && !w.running) this.watched.delete(c.id);
    r.res.writeHead(204).end();
  }

  /** GET /containers/json: running containers, or all with `all`. */
  async list(r: Request): Promise<void> {
    const all = yes(r.query.get('all'));
    const out = [];
    for (const c of this.api.listRecords(this.options.root)) {
      const { status } = await this.api.observedStatus(this.options.root, c);
      if (!all && status !== 'running') continue;
      out.push({
        Id: c.id, Names: [`/${c.name}`], Image: c.image, ImageID: c.imageManifest.digest, Command: c.process.args.join(' '),
        Created: Math.floor(Date.parse(c.created) / 1000), State: dockerState(status), Status: statusLine(c, status),
        Ports: [], Labels: c.imageConfig.config?.Labels ?? {}, HostConfig: { NetworkMode: c.process.network === 'default' ? 'bridge' : c.process.network },
        NetworkSettings: { Networks: {} }, Mounts: [],
      });
    }
    json(r.res, 200, out);
  }

  /** POST /commit?container=&repo=&tag=&comment=&author=&changes=&pause= (docker commit). */
  async commit(r: Request): Promise<void> {
    const c = this.find(r.query.get('container') ?? '');
    const repo = r.query.get('repo');
    const tag = r.query.get('tag');
    const comment = r.query.get('comment');
    const author = r.query.get('author');
    const res = await this.api.commitContainer(await this.open(), c.id, {
      changes: r.query.getAll('changes').flatMap((x) => x.split('\n')).filter(Boolean), pause: r.query.get('pause') === null || yes(r.query.get('pause')),
      ...(repo ? { tag: `${repo}:${tag || 'latest'}` } : {}), ...(comment ? { message: comment } : {}), ...(author ? { author } : {}),
    });
    json(r.res, 201, { Id: res.id });
  }

  async inspect(r: Request, c: ContainerRecord): Promise<void> {
    const { status } = await this.api.observedStatus(this.options.root, c);
    const w = this.watched.get(c.id);
    json(r.res, 200, {
      Id: c.id,
      Created: c.created,
      Name: `/${c.name}`,
      Path: c.process.args[0] ?? '',
      Args: c.process.args.slice(1),
      Image: c.imageManifest.digest,
      State: {
        Status: dockerState(status), Running: status === 'running', Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0,
        ExitCode: c.state.exitCode ?? 0, Error: w?.error ?? '', StartedAt: c.state.startedAt ?? '0001-01-01T00:00:00Z', FinishedAt: c.state.finishedAt ?? '0001-01-01T00:00:00Z',
      },
      Config: { Image: c.image, Cmd: c.process.args, Env: c.process.env, WorkingDir: c.process.cwd, User: c.process.user ?? '', Tty: false, AttachStdout: true, AttachStderr: true, Labels: c.imageConfig.config?.Labels ?? {} },
      HostConfig: { AutoRemove: this.autoRemove.has(c.id), NetworkMode: c.process.network === 'default' ? 'bridge' : c.process.network },
    });
  }

  /** Stops every container this server watches (server shutdown). */
  async stopAll(): Promise<void> {
    const deps = await this.open();
    const running = [...this.watched.entries()].filter(([, w]) => w.running);
    await Promise.all(running.map(async ([id, w]) => {
      await this.api.stopContainer(deps, id, 0).catch(() => undefined);
      await w.exited;
    }));
  }
}

/** docker's State.Status words: a container whose watcher is gone and process ended is `exited`. */
const dockerState = (s: containers.LiveStatus): string => (s === 'stopped' ? 'exited' : s);

function statusLine(c: ContainerRecord, s: containers.LiveStatus): string {
  if (s === 'running') return `Up since ${c.state.startedAt ?? '?'}`;
  if (s === 'created') return 'Created';
  return `Exited (${c.state.exitCode ?? -1}) at ${c.state.finishedAt ?? '?'}`;
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
