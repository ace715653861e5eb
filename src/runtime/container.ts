/**
 * Long-lived containers (`wharf container …`): the same config.json as a RUN step's, but in a
 * bundle dir the caller keeps (under the container's own dir in the store) and under a runtime
 * state dir and ID that outlive one wharf process, so a later `exec`, `kill`, `pause` or `delete`
 * from another wharf finds the container by name.
 *
 *   await writeBundle(bundle, process, rootfs, { terminal, hostname })   config.json + /etc files
 *   await runBundle(ref, bundle, stdio, hooks) → ExitStatus             `runc run` in the foreground
 *   await execIn(ref, bundle, args, stdio, opts) → ExitStatus           `runc exec` into it
 *   await runtimeSignal(ref, 'TERM') / pauseContainer / resumeContainer / deleteContainer
 *
 * Only runc here, whatever `--runtime` builds use: `runc run` in the foreground with `terminal: true`
 * proxies the pty to its own stdio and passes window size changes through, which is what `run -it`
 * needs; and runc makes the container's cgroups itself (freezer included), so `pause` (a commit of
 * a running container), `exec`, `kill` and `state` work from any later wharf. crun on a cgroup v1
 * host runs with `--cgroup-manager=disabled` (launcher.ts): no freezer of its own to pause with.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomHex, UserError } from '../util/index.js';
import { forEachLine } from './lines.js';
import { buildOciConfig, hostsFile, ociConfigJson } from './oci-config.js';
import { containerResolvConf } from './resolv-conf.js';
import { recordStubs, removeStubs, type StubRecord } from './stubs.js';

export type { StubRecord } from './stubs.js';
import type { ExitStatus, ProcessSpec } from './types.js';
import { resolveUser } from './user.js';

/** Where the runtime keeps a container's state (`runc --root`) and its ID there. */
export interface ContainerRef {
  readonly rootDir: string;
  readonly id: string;
}

/** How the container's stdio is connected. */
export type ContainerStdio =
  | { readonly kind: 'inherit' }
  | { readonly kind: 'fds'; readonly stdin?: number; readonly stdout: number; readonly stderr: number }
  | { readonly kind: 'lines'; readonly stdout?: (line: string) => void; readonly stderr?: (line: string) => void };

export interface RunHooks {
  /** Called once the runtime process runs: `forward` sends a signal to it (it passes it on to the container). */
  readonly onSpawn?: (forward: (sig: NodeJS.Signals) => void) => void;
}

const RUNTIME = 'runc';

/** config.json and the /etc files in `bundle`; the stub list goes to `stubs.json` for removeBundleStubs. */
export async function writeBundle(bundle: string, spec: ProcessSpec, rootfs: string, opts: { terminal: boolean; netnsPath?: string }): Promise<void> {
  // Network `default` joins a namespace the caller opened (openSlirpNetwork) and keeps open while the container runs.
  if (spec.network === 'default' && !opts.netnsPath) throw new Error('writeBundle: network default needs the namespace opened by openSlirpNetwork');
  mkdirSync(bundle, { recursive: true, mode: 0o700 });
  const user = await resolveUser(rootfs, spec.user);
  const hostname = spec.hostname ?? 'wharf';
  const etcFiles = { hosts: join(bundle, 'hosts'), resolvConf: join(bundle, 'resolv.conf'), hostname: join(bundle, 'hostname') };
  writeFileSync(etcFiles.hosts, hostsFile(hostname, spec.extraHosts));
  const resolv = existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '';
  writeFileSync(etcFiles.resolvConf, spec.network === 'default' ? containerResolvConf(resolv) : resolv);
  writeFileSync(etcFiles.hostname, hostname + '\n');
  const config = buildOciConfig({ spec, user, rootfs, mounts: [], etcFiles, cgroupsPath: `/${bundleId(bundle)}`, ...(opts.netnsPath ? { netnsPath: opts.netnsPath } : {}) });
  (config['process'] as Record<string, unknown>)['terminal'] = opts.terminal;
  const destinations = (config['mounts'] as { destination: string }[]).map((m) => m.destination).filter((d) => !/^\/(dev|proc|sys)\/./.test(d));
  const stubs = await recordStubs(rootfs, destinations, spec.cwd);
  writeFileSync(join(bundle, 'stubs.json'), JSON.stringify(stubs));
  writeFileSync(join(bundle, 'config.json'), ociConfigJson(config));
}

const bundleId = (bundle: string) => `wharf-${bundle.split('/').filter(Boolean).slice(-2).join('-').replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 40)}`;

/** The mount-point stubs a bundle's run may have made: host paths (shallowest first) and the times of their parent. */
export function bundleStubs(bundle: string): StubRecord[] {
  try {
    return JSON.parse(readFileSync(join(bundle, 'stubs.json'), 'utf8')) as StubRecord[];
  } catch {
    return [];
  }
}

/** Removes the mount-point stubs the runtime made in the rootfs (safe to call twice, or when none). */
export async function removeBundleStubs(bundle: string): Promise<void> {
  let records: StubRecord[];
  try {
    records = JSON.parse(readFileSync(join(bundle, 'stubs.json'), 'utf8')) as StubRecord[];
  } catch {
    return;
  }
  await removeStubs(records);
  rmSync(join(bundle, 'stubs.json'), { force: true });
}

/** `runc run` in the foreground: resolves with the container's exit status once its init is gone. */
export function runBundle(ref: ContainerRef, bundle: string, stdio: ContainerStdio, hooks: RunHooks = {}): Promise<ExitStatus> {
  mkdirSync(ref.rootDir, { recursive: true, mode: 0o700 });
  return runtimeProcess(ref, ['--log', join(bundle, 'runtime.log'), '--log-format', 'json', 'run', '--bundle', bundle, ref.id], stdio, bundle, hooks);
}

export interface ExecOptions {
  readonly tty: boolean;
  /** Extra KEY=VALUE entries after the container's environment. */
  readonly env?: readonly string[];
  readonly cwd?: string;
  /** A user as USER takes it, resolved in `rootfs`. */
  readonly user?: string;
  readonly rootfs?: string;
}

/** `runc exec`: one more process in the running container's namespaces, with its init's confinement. */
export async function execIn(ref: ContainerRef, bundle: string, args: readonly string[], stdio: ContainerStdio, o: ExecOptions, hooks: RunHooks = {}): Promise<ExitStatus> {
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { process: Record<string, unknown> };
  const proc: Record<string, unknown> = { ...config.process, args: [...args], terminal: o.tty };
  if (o.env?.length) proc['env'] = [...(proc['env'] as string[]), ...o.env];
  if (o.cwd) proc['cwd'] = o.cwd;
  if (o.user && o.rootfs) {
    const u = await resolveUser(o.rootfs, o.user);
    proc['user'] = { uid: u.uid, gid: u.gid, ...(u.additionalGids.length ? { additionalGids: [...u.additionalGids] } : {}) };
  }
  const file = join(bundle, `exec-${randomHex(6)}.json`);
  writeFileSync(file, JSON.stringify(proc));
  try {
    return await runtimeProcess(ref, ['exec', '--process', file, ref.id], stdio, bundle, hooks);
  } finally {
    rmSync(file, { force: true });
  }
}

function runtimeProcess(ref: ContainerRef, args: string[], stdio: ContainerStdio, cwd: string, hooks: RunHooks): Promise<ExitStatus> {
  const child = spawn(RUNTIME, ['--root', ref.rootDir, ...args], {
    cwd,
    stdio: stdio.kind === 'inherit' ? 'inherit' : stdio.kind === 'fds' ? [stdio.stdin ?? 'ignore', stdio.stdout, stdio.stderr] : ['ignore', 'pipe', 'pipe'],
  });
  hooks.onSpawn?.((sig) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  });
  const out = stdio.kind === 'lines' ? [forEachLine(child.stdout!, stdio.stdout), forEachLine(child.stderr!, stdio.stderr)] : [];
  const exited = new Promise<ExitStatus>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new UserError('runtime.missing', `${RUNTIME} is not installed`, `install it: apt-get install ${RUNTIME}`) : e);
    });
    child.on('close', (code, sig) => resolve({ exitCode: code ?? 128 + (sig === 'SIGKILL' ? 9 : sig === 'SIGTERM' ? 15 : sig === 'SIGINT' ? 2 : 0) }));
  });
  return Promise.all([exited, ...out]).then(([s]) => s);
}

/** A short runtime command; its stderr on failure (undefined when it worked). */
function runtimeCall(ref: ContainerRef, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    let err = '';
    const c = spawn(RUNTIME, ['--root', ref.rootDir, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', (e) => resolve(e.message));
    c.on('close', (code) => resolve(code === 0 ? undefined : err.trim() || `exit ${code}`));
  });
}

/** Sends a signal (`TERM`, `KILL`, `9`, …) to the container's init; the runtime's error text if it failed. */
export const runtimeSignal = (ref: ContainerRef, sig: string): Promise<string | undefined> => runtimeCall(ref, ['kill', ref.id, sig]);
/** Freezes every process of the container (cgroup freezer). */
export const pauseContainer = (ref: ContainerRef): Promise<string | undefined> => runtimeCall(ref, ['pause', ref.id]);
export const resumeContainer = (ref: ContainerRef): Promise<string | undefined> => runtimeCall(ref, ['resume', ref.id]);
/** Kills what is left of the container and removes its runtime state and cgroup; never fails. */
export async function deleteContainer(ref: ContainerRef): Promise<void> {
  if (existsSync(join(ref.rootDir, ref.id))) await runtimeCall(ref, ['delete', '--force', ref.id]);
}

/** The runtime's view: `running`, `paused`, `stopped`, `created`, or undefined when it has no such container. */
export function runtimeStatus(ref: ContainerRef): Promise<string | undefined> {
  if (!existsSync(join(ref.rootDir, ref.id))) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let out = '';
    const c = spawn(RUNTIME, ['--root', ref.rootDir, 'state', ref.id], { stdio: ['ignore', 'pipe', 'ignore'] });
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', () => resolve(undefined));
    c.on('close', () => {
      try {
        resolve((JSON.parse(out) as { status?: string }).status);
      } catch {
        resolve(undefined);
      }
    });
  });
}
