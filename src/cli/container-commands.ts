// Implementation of `wharf container …` (and its docker-style aliases), loaded lazily by
// commands/container.ts: argument checks, the detached watcher process, signal forwarding, printing.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadContainers, parseSourceDateEpoch, UserError, type containers } from '../api/index.js';
type ContainerRecord = containers.ContainerRecord;
type ContainerStdio = containers.ContainerStdio;
type ContainerDeps = containers.ContainerDeps;
import type { CliContext } from './context.js';

export interface ProcessFlags {
  readonly env: string[];
  readonly user?: string;
  readonly workdir?: string;
  readonly network: string;
}

/** docker's `bridge` (its default) is wharf's `default`: a namespace of its own with outbound NAT. */
export function networkMode(flag: string): 'default' | 'none' | 'host' {
  if (flag === 'bridge' || flag === 'default') return 'default';
  if (flag === 'none' || flag === 'host') return flag;
  throw new UserError('cli.bad-flag', `--network ${flag} is not supported`, 'use --network bridge (outbound NAT, the default), none (loopback only) or host');
}

function createOptions(ctx: CliContext, image: string, cmd: string[], name: string | undefined, f: ProcessFlags, tty: boolean): containers.CreateOptions {
  return {
    image, cmd, tty, network: networkMode(f.network),
    env: f.env.map((e) => (e.includes('=') ? e : `${e}=${ctx.env[e] ?? ''}`)),
    ...(name !== undefined ? { name } : {}), ...(f.user !== undefined ? { user: f.user } : {}), ...(f.workdir !== undefined ? { workdir: f.workdir } : {}),
  };
}

export async function create(ctx: CliContext, root: string, image: string, cmd: string[], opts: ProcessFlags & { name?: string }): Promise<number> {
  const api = await loadContainers();
  const deps = await api.openContainers(root);
  const rec = await api.createContainer(deps, createOptions(ctx, image, cmd, opts.name, opts, false));
  ctx.stdout.write(rec.id + '\n');
  return 0;
}

export interface RunFlags extends ProcessFlags {
  readonly name?: string;
  readonly rm?: boolean;
  readonly detach?: boolean;
  readonly interactive?: boolean;
  readonly tty?: boolean;
  readonly runtime?: string;
}

/** `run`: create, then either watch the process here (foreground) or in a detached watcher (`-d`). */
export async function run(ctx: CliContext, root: string, image: string, cmd: string[], opts: RunFlags): Promise<number> {
  const api = await loadContainers();
  if (opts.runtime === 'crun') {
    throw new UserError('cli.bad-flag', '--runtime crun is for throwaway runs only: kept containers run on runc (its cgroup freezer pauses them for commit)', 'drop --runtime, or use `wharf run --rm` without -i, -t, -d and --name');
  }
  if (opts.runtime !== undefined && !['auto', 'runc'].includes(opts.runtime)) throw new UserError('cli.bad-flag', `--runtime ${opts.runtime} is not supported`, 'use --runtime auto, runc or crun');
  if (opts.detach && opts.rm) throw new UserError('cli.bad-flag', '--rm and -d together are not supported', 'run -d keeps the container; remove it later with `wharf rm -f NAME`');
  const tty = opts.tty === true;
  if (tty && !opts.interactive) throw new UserError('cli.bad-flag', '-t needs -i', 'use -it for an interactive terminal');
  if (tty && !(process.stdin.isTTY && process.stdout.isTTY)) throw new UserError('cli.bad-flag', '-t needs a terminal on stdin and stdout', 'run it from a terminal, or drop -t');
  const deps = await api.openContainers(root);
  const rec = await api.createContainer(deps, createOptions(ctx, image, cmd, opts.name, opts, tty));
  if (opts.detach) {
    await startDetached(root, rec);
    ctx.stdout.write(rec.id + '\n');
    return 0;
  }
  try {
    return await foreground(deps, rec.id, tty ? { kind: 'inherit' } : opts.interactive ? { kind: 'fds', stdin: 0, stdout: 1, stderr: 2 } : passThrough());
  } finally {
    if (opts.rm) await api.removeContainer(deps, rec.id, true);
  }
}

/** The container writes straight to wharf's own stdout and stderr, byte for byte (stdin: none). */
const passThrough = (): ContainerStdio => ({ kind: 'fds', stdout: 1, stderr: 2 });

/**
 * Runs with signals forwarded: SIGINT, SIGTERM and SIGHUP to wharf go to the runtime, which passes
 * them to the container's init (with a terminal, Ctrl-C reaches the container as a keystroke).
 */
async function foreground(deps: ContainerDeps, id: string, stdio: ContainerStdio, execReq?: containers.ExecRequest): Promise<number> {
  const api = await loadContainers();
  let forward: ((sig: NodeJS.Signals) => void) | undefined;
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => [sig, () => forward?.(sig)] as const);
  for (const [sig, h] of handlers) process.on(sig, h);
  try {
    const hooks = { onSpawn: (f: (sig: NodeJS.Signals) => void) => (forward = f) };
    const status = execReq ? await api.execInContainer(deps, id, execReq, stdio, hooks) : await api.runContainerProcess(deps, id, stdio, hooks);
    return status.exitCode;
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
  }
}

/**
 * A detached watcher: this CLI again (`container __monitor ID`) in a session of its own, with its
 * stdout and stderr (and so the container's) appended to the container's log. Returns once the
 * watcher has recorded the start (or the container already ended).
 */
async function startDetached(root: string, rec: ContainerRecord): Promise<void> {
  const api = await loadContainers();
  const p = api.pathsOf(root, rec.id);
  const begun = new Date().toISOString();
  const log = openSync(p.log, 'a', 0o600);
  const child = spawn(process.execPath, [process.argv[1]!, '--root', root, 'container', '__monitor', rec.id], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.on('error', () => (exited = -1));
  child.unref();
  const until = Date.now() + 30_000;
  for (;;) {
    // This watcher's own record: the state a previous run left says nothing about this one.
    const now = api.readRecord(root, rec.id);
    if (now && now.state.status === 'exited' && (now.state.finishedAt ?? '') > begun) return;
    // Running once the runtime has made the container (its state dir), so an `exec` right after works.
    if (now && now.state.monitorPid === child.pid && readdirQuiet(p.runtimeRoot).some((d) => existsSync(join(p.runtimeRoot, d, 'state.json')))) return;
    if (exited !== undefined) throw new UserError('container.start-failed', `container ${rec.name} did not start: ${lastLines(p.log) || `watcher exit ${exited}`}`, `\`wharf logs ${rec.name}\` shows its output`);
    if (Date.now() > until) throw new UserError('container.start-failed', `container ${rec.name} did not start within 30 s`, `\`wharf logs ${rec.name}\` shows its output`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function readdirQuiet(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function lastLines(file: string): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(Math.min(size, 2000));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    closeSync(fd);
    return buf.toString().trim().split('\n').slice(-3).join('; ');
  } catch {
    return '';
  }
}

/** The hidden `container __monitor ID`: watches the container to its end, output to the log (its own stdio). */
export async function monitor(root: string, id: string): Promise<number> {
  const api = await loadContainers();
  const deps = await api.openContainers(root);
  // In a session of its own: no terminal signals; a `stop` reaches the container through the runtime.
  process.on('SIGHUP', () => undefined);
  await api.runContainerProcess(deps, id, { kind: 'fds', stdout: 1, stderr: 2 });
  return 0;
}

export async function start(ctx: CliContext, root: string, names: string[]): Promise<number> {
  const api = await loadContainers();
  // Opened for its repairs (containers a killed wharf left running are reaped first).
  await api.openContainers(root);
  for (const n of names) {
    const rec = api.findRecord(root, n);
    if (await api.isRunning(root, rec)) throw new UserError('container.running', `container ${rec.name} is already running`, `\`wharf stop ${rec.name}\` stops it`);
    if (!rec.process.args.length) throw new UserError('container.no-command', `container ${rec.name} has no command`, 'set one with `wharf container config --cmd` and commit, or create it with a command');
    await startDetached(root, rec);
    ctx.stdout.write(n + '\n');
  }
  return 0;
}

export async function stop(ctx: CliContext, root: string, names: string[], timeout: string): Promise<number> {
  const t = Number(timeout);
  if (!Number.isInteger(t) || t < 0) throw new UserError('cli.bad-flag', `-t ${timeout}: expected whole seconds`, 'e.g. -t 10');
  return eachNamed(ctx, root, names, (api, deps, n) => api.stopContainer(deps, n, t));
}

export async function kill(ctx: CliContext, root: string, names: string[], signal: string): Promise<number> {
  return eachNamed(ctx, root, names, (api, deps, n) => api.killContainer(deps, n, signal));
}

export async function rm(ctx: CliContext, root: string, names: string[], force: boolean): Promise<number> {
  return eachNamed(ctx, root, names, (api, deps, n) => api.removeContainer(deps, n, force));
}

type ContainersApi = Awaited<ReturnType<typeof loadContainers>>;

/** `stop`, `kill` and `rm`: the operation on each named container in turn, printing its name as docker does. */
async function eachNamed(
  ctx: CliContext, root: string, names: readonly string[],
  op: (api: ContainersApi, deps: Awaited<ReturnType<ContainersApi['openContainers']>>, name: string) => Promise<unknown>,
): Promise<number> {
  const api = await loadContainers();
  const deps = await api.openContainers(root);
  for (const n of names) {
    await op(api, deps, n);
    ctx.stdout.write(n + '\n');
  }
  return 0;
}

export async function exec(ctx: CliContext, root: string, name: string, cmd: string[], opts: { interactive?: boolean; tty?: boolean; env: string[]; user?: string; workdir?: string }): Promise<number> {
  const api = await loadContainers();
  const tty = opts.tty === true;
  if (tty && !(process.stdin.isTTY && process.stdout.isTTY)) throw new UserError('cli.bad-flag', '-t needs a terminal on stdin and stdout', 'run it from a terminal, or drop -t');
  if (!cmd.length) throw new UserError('cli.bad-flag', 'exec needs a command', `e.g. wharf exec ${name} sh`);
  const deps = await api.openContainers(root);
  const stdio: ContainerStdio = tty ? { kind: 'inherit' } : opts.interactive ? { kind: 'fds', stdin: 0, stdout: 1, stderr: 2 } : passThrough();
  return foreground(deps, name, stdio, {
    args: cmd, tty, env: opts.env.map((e) => (e.includes('=') ? e : `${e}=${ctx.env[e] ?? ''}`)),
    ...(opts.user !== undefined ? { user: opts.user } : {}), ...(opts.workdir !== undefined ? { workdir: opts.workdir } : {}),
  });
}

/** `logs [-f]`: the detached container's output; with -f, what follows until it stops. */
export async function logs(ctx: CliContext, root: string, name: string, follow: boolean): Promise<number> {
  const api = await loadContainers();
  const rec = api.findRecord(root, name);
  const file = api.pathsOf(root, rec.id).log;
  let offset = 0;
  const drain = () => {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (let n = readSync(fd, buf, 0, buf.length, offset); n > 0; n = readSync(fd, buf, 0, buf.length, offset)) {
        ctx.stdout.write(Buffer.from(buf.subarray(0, n)));
        offset += n;
      }
    } finally {
      closeSync(fd);
    }
  };
  drain();
  while (follow) {
    const now = api.readRecord(root, rec.id);
    const running = now !== undefined && api.liveStatus(now) === 'running';
    await new Promise((r) => setTimeout(r, 100));
    drain();
    if (!running) break;
  }
  return 0;
}

const short = (id: string) => id.slice(0, 12);

type Observed = Awaited<ReturnType<typeof containers.observedStatus>>;

function statusText(rec: ContainerRecord, { status: s, orphaned }: Observed): string {
  if (s === 'running') return `Up since ${rec.state.startedAt ?? '?'}${orphaned ? ' (its wharf watcher is gone: `wharf stop` or `rm` ends it)' : ''}`;
  if (s === 'exited') return `Exited (${rec.state.exitCode ?? '?'}) at ${rec.state.finishedAt ?? '?'}`;
  if (s === 'stopped') return 'Stopped (uncleanly: the wharf that ran it is gone)';
  return 'Created';
}

export async function ps(ctx: CliContext, root: string, opts: { all?: boolean; quiet?: boolean }): Promise<number> {
  const api = await loadContainers();
  const seen = await Promise.all(api.listRecords(root).map(async (r) => [r, await api.observedStatus(root, r)] as const));
  const all = seen.filter(([, o]) => opts.all || o.status === 'running');
  if (opts.quiet) {
    for (const [r] of all) ctx.stdout.write(short(r.id) + '\n');
    return 0;
  }
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES']];
  for (const [r, o] of all) {
    const command = r.process.args.join(' ');
    rows.push([short(r.id), r.image, JSON.stringify(command.length > 20 ? command.slice(0, 19) + '…' : command), r.created.replace(/\.\d+Z$/, 'Z'), statusText(r, o), r.name]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) ctx.stdout.write(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('') + '\n');
  return 0;
}

export async function inspect(ctx: CliContext, root: string, names: string[]): Promise<number> {
  const api = await loadContainers();
  const out = [];
  for (const n of names) out.push(await containerView(root, api.findRecord(root, n)));
  ctx.stdout.write(JSON.stringify(out, null, 4) + '\n');
  return 0;
}

/** docker inspect's view of a container (also for the top-level `wharf inspect`). */
export async function containerView(root: string, r: ContainerRecord): Promise<Record<string, unknown>> {
  const api = await loadContainers();
  const { status, orphaned } = await api.observedStatus(root, r);
  const p = api.pathsOf(root, r.id);
  return {
    Id: r.id, Name: r.name, Created: r.created, Image: r.imageManifest.digest, ImageName: r.image,
    Path: r.process.args[0] ?? '', Args: r.process.args.slice(1),
    State: {
      Status: status, Running: status === 'running', ExitCode: r.state.exitCode ?? 0,
      ...(status === 'running' && !orphaned ? { Pid: r.state.monitorPid } : {}), ...(orphaned ? { Orphaned: true } : {}),
      StartedAt: r.state.startedAt ?? '', FinishedAt: r.state.finishedAt ?? '',
    },
    Process: r.process,
    Config: r.imageConfig.config ?? {},
    GraphDriver: { Name: 'overlay', Data: { UpperDir: p.upper, MergedDir: p.rootfs } },
    LogPath: p.log,
  };
}

/** `copy CONTAINER SRC DEST` (host → container), `copy CONTAINER:PATH DEST`, and docker's `cp SRC CONTAINER:PATH`. */
export async function copy(ctx: CliContext, root: string, args: string[]): Promise<number> {
  const api = await loadContainers();
  const deps = await api.openContainers(root);
  const colon = (s: string) => /^[A-Za-z0-9][A-Za-z0-9_.-]*:/.test(s) && !s.startsWith('/') && !s.startsWith('.');
  if (args.length === 3) {
    await api.copyIntoContainer(deps, args[0]!, args[1]!, args[2]!, ctx.cwd);
    return 0;
  }
  if (args.length === 2 && colon(args[0]!)) {
    const [c, ...rest] = args[0]!.split(':');
    await api.copyFromContainer(deps, c!, rest.join(':'), args[1]!, ctx.cwd);
    return 0;
  }
  if (args.length === 2 && colon(args[1]!)) {
    const [c, ...rest] = args[1]!.split(':');
    await api.copyIntoContainer(deps, c!, args[0]!, rest.join(':') || '/', ctx.cwd);
    return 0;
  }
  throw new UserError('cli.bad-args', `copy ${args.join(' ')}: expected CONTAINER SRC DEST, CONTAINER:PATH DEST or SRC CONTAINER:PATH`, 'e.g. wharf copy web ./app /srv/app');
}

export async function config(root: string, name: string, edits: containers.ConfigEdits): Promise<number> {
  const api = await loadContainers();
  await api.editContainerConfig(root, name, edits);
  return 0;
}

export async function commit(ctx: CliContext, root: string, name: string, tag: string | undefined, opts: { message?: string; author?: string; change: string[]; pause: boolean }): Promise<number> {
  const api = await loadContainers();
  const deps = await api.openContainers(root);
  const sde = parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH);
  const r = await api.commitContainer(deps, name, {
    changes: opts.change, pause: opts.pause,
    ...(opts.message !== undefined ? { message: opts.message } : {}), ...(opts.author !== undefined ? { author: opts.author } : {}),
    ...(tag !== undefined ? { tag } : {}), ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
  });
  ctx.stdout.write(r.id + '\n');
  return 0;
}
