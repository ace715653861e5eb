import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadImage } from '../image/index.js';
import {
  deleteContainer, execIn, openSlirpNetwork, removeBundleStubs, resumeContainer, runBundle, runtimeSignal, runtimeStatus, writeBundle,
  type ContainerRef, type ContainerStdio, type ExitStatus, type NetworkMode, type NetworkNamespace, type RunHooks,
} from '../runtime/index.js';
import { isMountPoint, mountOverlay, unmountReliably, type LayerRef, type SnapshotStore } from '../snapshot/index.js';
import type { Store } from '../store/index.js';
import { UserError } from '../util/index.js';
import {
  findRecord, listRecords, liveStatus, NAME_PATTERN, newId, newName, pathsOf, processStartTime, readRecord, runtimeId, updateState, writeRecord,
} from './records.js';
import type { ContainerProcess, ContainerRecord, LiveStatus } from './types.js';

/**
 * A container's life: create (record + empty upper dir), run its process in the foreground (the
 * caller is the container's watcher: it records the start, the exit status and unmounts),
 * signals, exec, and removal.
 */
export interface ContainerDeps {
  readonly root: string;
  readonly store: Store;
  readonly snapshots: SnapshotStore;
}

export interface CreateOptions {
  readonly image: string;
  readonly name?: string;
  /** The command; the image's Cmd when empty (after its Entrypoint either way). */
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  readonly user?: string;
  readonly workdir?: string;
  /** Default `default` (outbound NAT through slirp4netns, as docker's bridge network). */
  readonly network?: NetworkMode;
  readonly tty?: boolean;
}

export async function createContainer(deps: ContainerDeps, o: CreateOptions): Promise<ContainerRecord> {
  const taken = new Map(listRecords(deps.root).map((r) => [r.name, r.id]));
  if (o.name !== undefined) {
    if (!NAME_PATTERN.test(o.name)) throw new UserError('container.bad-name', `invalid container name ${JSON.stringify(o.name)}`, 'use letters, digits, _ . - (starting with a letter or digit)');
    const other = taken.get(o.name);
    if (other) throw new UserError('container.name-in-use', `the container name "${o.name}" is already in use by container ${other.slice(0, 12)}`, `remove that container (\`wharf rm ${o.name}\`) or choose another --name`);
  }
  const img = await loadImage(deps.store, o.image);
  const c = img.config.config ?? {};
  const args = [...(c.Entrypoint ?? []), ...(o.cmd?.length ? o.cmd : (c.Cmd ?? []))];
  const id = newId();
  const rec: ContainerRecord = {
    v: 1, id, name: o.name ?? newName(new Set(taken.keys())), created: new Date().toISOString(),
    image: o.image, imageManifest: img.manifestDescriptor, imageConfig: img.config, layers: img.manifest.layers,
    process: {
      args, env: [...(c.Env ?? []), ...(o.env ?? [])], ...(o.user ?? c.User ? { user: o.user ?? c.User } : {}),
      cwd: o.workdir ?? (c.WorkingDir || '/'), network: o.network ?? 'default', tty: o.tty === true,
    },
    state: { status: 'created' },
  };
  // The record first: a create killed after it leaves a container `ps` lists and `rm` removes.
  await writeRecord(deps.root, rec, true);
  mkdirSync(pathsOf(deps.root, id).upper, { recursive: true });
  return rec;
}

export const refOf = (root: string, rec: ContainerRecord): ContainerRef => ({ rootDir: pathsOf(root, rec.id).runtimeRoot, id: runtimeId(rec.id) });

/**
 * The status as it really is: a container whose watcher was killed (-9) reads as `stopped` from
 * its record, but its process lives on under the runtime until something kills it, so then the
 * runtime is asked. `orphaned`: running without a watcher (nothing will record its exit).
 */
export async function observedStatus(root: string, rec: ContainerRecord): Promise<{ status: LiveStatus; orphaned: boolean }> {
  const status = liveStatus(rec);
  if (status !== 'stopped') return { status, orphaned: false };
  const rt = await runtimeStatus(refOf(root, rec));
  return rt === 'running' || rt === 'paused' ? { status: 'running', orphaned: true } : { status, orphaned: false };
}

export const isRunning = async (root: string, rec: ContainerRecord): Promise<boolean> => (await observedStatus(root, rec)).status === 'running';

/** An orphaned container's end, as its watcher would have done it: runtime state, mount, record. */
async function reapOrphan(root: string, rec: ContainerRecord): Promise<void> {
  const p = pathsOf(root, rec.id);
  await removeBundleStubs(p.bundle);
  await deleteContainer(refOf(root, rec));
  await unmountRootfs(root, rec.id);
  const latest = readRecord(root, rec.id);
  // The exit code died with the watcher: unknown.
  if (latest) await updateState(root, latest, { status: 'exited', ...(latest.state.startedAt ? { startedAt: latest.state.startedAt } : {}), finishedAt: new Date().toISOString() });
}

/** Waits until an orphaned container's process is gone; false after `ms`. */
async function waitOrphanGone(root: string, rec: ContainerRecord, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (!(await isRunning(root, rec))) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function layerRefsOf(rec: ContainerRecord): LayerRef[] {
  return rec.layers.map((descriptor, i) => ({ descriptor, diffId: rec.imageConfig.rootfs.diff_ids[i]! }));
}

/** Mounts the container's rootfs (image snapshots + its upper dir) unless it is mounted; returns it. */
export async function mountRootfs(deps: ContainerDeps, rec: ContainerRecord): Promise<string> {
  const p = pathsOf(deps.root, rec.id);
  if (await isMountPoint(p.rootfs)) return p.rootfs;
  const lowers = await deps.snapshots.prepare(layerRefsOf(rec));
  await mountOverlay({ lowers, upper: p.upper, target: p.rootfs, linkDir: deps.snapshots.linkDir });
  return p.rootfs;
}

/** Unmounts the rootfs (whoever mounted it) and removes the mount's work dirs; idempotent. */
export async function unmountRootfs(root: string, id: string): Promise<void> {
  const p = pathsOf(root, id);
  await unmountReliably(p.rootfs);
  let names: string[] = [];
  try {
    names = readdirSync(p.dir);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith('.overlay-')) await rm(join(p.dir, n), { recursive: true, force: true });
  await rm(p.rootfs, { recursive: true, force: true });
}

/**
 * `fn` with the rootfs mounted: a running container's mount as it is, else a mount of its own
 * that is taken down afterwards.
 */
export async function withRootfs<T>(deps: ContainerDeps, rec: ContainerRecord, fn: (rootfs: string) => Promise<T>): Promise<T> {
  const p = pathsOf(deps.root, rec.id);
  if ((await isRunning(deps.root, rec)) && (await isMountPoint(p.rootfs))) return fn(p.rootfs);
  const rootfs = await mountRootfs(deps, rec);
  try {
    return await fn(rootfs);
  } finally {
    await unmountRootfs(deps.root, rec.id);
  }
}

/**
 * Runs the container's process to its end, this process being its watcher: the record says
 * `running` with this pid while it runs, and the exit code afterwards; the rootfs is unmounted
 * on every path out.
 */
export async function runContainerProcess(deps: ContainerDeps, nameOrId: string, stdio: ContainerStdio, hooks: RunHooks = {}): Promise<ExitStatus> {
  let rec = findRecord(deps.root, nameOrId);
  if (await isRunning(deps.root, rec)) throw new UserError('container.running', `container ${rec.name} is already running`, `stop it first (\`wharf stop ${rec.name}\`)`);
  if (!rec.process.args.length) {
    throw new UserError('container.no-command', `container ${rec.name} has no command: its image has no Entrypoint or Cmd`, 'give one at create/run (`wharf run IMAGE CMD`) or set it with `wharf config --cmd`');
  }
  const ref = refOf(deps.root, rec);
  const p = pathsOf(deps.root, rec.id);
  // What a killed earlier watcher may have left: the runtime's container and the mount.
  await deleteContainer(ref);
  await unmountRootfs(deps.root, rec.id);
  let exitCode = 255;
  // Network `default`: slirp4netns is this watcher's child and ends with it (its exit fd), so a
  // watcher killed with -9 leaves none behind.
  let net: NetworkNamespace | undefined;
  try {
    const rootfs = await mountRootfs(deps, rec);
    await rm(p.bundle, { recursive: true, force: true });
    if (rec.process.network === 'default') net = await openSlirpNetwork();
    await writeBundle(p.bundle, processSpec(rec.process, rec.id), rootfs, { terminal: rec.process.tty && stdio.kind === 'inherit', ...(net ? { netnsPath: net.path } : {}) });
    rec = await updateState(deps.root, rec, { status: 'running', monitorPid: process.pid, monitorStart: processStartTime(process.pid)!, startedAt: new Date().toISOString() });
    const status = await runBundle(ref, p.bundle, stdio, hooks);
    exitCode = status.exitCode;
    return status;
  } finally {
    await removeBundleStubs(p.bundle);
    await deleteContainer(ref);
    await net?.close();
    await unmountRootfs(deps.root, rec.id);
    // `rm -f` may have removed the container meanwhile: never bring its dir back.
    // The record as it is now: `config` may have edited it while the process ran.
    const latest = existsSync(p.dir) ? readRecord(deps.root, rec.id) : undefined;
    if (latest) {
      await updateState(deps.root, latest, { ...rec.state, status: 'exited', monitorPid: undefined, monitorStart: undefined, exitCode, finishedAt: new Date().toISOString() })
        .catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
    }
  }
}

function processSpec(p: ContainerProcess, id: string) {
  return { args: p.args, env: p.env, ...(p.user ? { user: p.user } : {}), cwd: p.cwd, network: p.network, hostname: id.slice(0, 12) };
}

export interface ExecRequest {
  readonly args: readonly string[];
  readonly tty: boolean;
  readonly env?: readonly string[];
  readonly user?: string;
  readonly workdir?: string;
}

/** One more process in a running container (`runc exec`), with the init's confinement. */
export async function execInContainer(deps: ContainerDeps, nameOrId: string, req: ExecRequest, stdio: ContainerStdio, hooks: RunHooks = {}): Promise<ExitStatus> {
  const rec = findRecord(deps.root, nameOrId);
  if (!(await isRunning(deps.root, rec))) throw new UserError('container.not-running', `container ${rec.name} is not running`, `start it first (\`wharf start ${rec.name}\`)`);
  const p = pathsOf(deps.root, rec.id);
  return execIn(refOf(deps.root, rec), p.bundle, req.args, stdio, {
    tty: req.tty, ...(req.env ? { env: req.env } : {}), ...(req.workdir ? { cwd: req.workdir } : {}), ...(req.user ? { user: req.user, rootfs: p.rootfs } : {}),
  }, hooks);
}

/** Waits until the container's watcher has recorded its end; false after `ms`. */
export async function waitStopped(root: string, id: string, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    const rec = readRecord(root, id);
    if (!rec || liveStatus(rec) !== 'running') return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM (or the image's StopSignal), then SIGKILL after `timeoutSec`. */
export async function stopContainer(deps: ContainerDeps, nameOrId: string, timeoutSec: number): Promise<ContainerRecord> {
  const rec = findRecord(deps.root, nameOrId);
  const { status, orphaned } = await observedStatus(deps.root, rec);
  if (status !== 'running') return rec;
  const ref = refOf(deps.root, rec);
  // Without a watcher nothing records the end: wait on the runtime, then do the watcher's part.
  const wait = (ms: number) => (orphaned ? waitOrphanGone(deps.root, rec, ms) : waitStopped(deps.root, rec.id, ms));
  // A commit killed while it had the container frozen leaves it paused: no signal gets through then.
  await resumeContainer(ref);
  await runtimeSignal(ref, rec.imageConfig.config?.StopSignal?.replace(/^SIG/, '') || 'TERM');
  if (!(await wait(timeoutSec * 1000))) {
    await runtimeSignal(ref, 'KILL');
    await wait(10_000);
  }
  if (orphaned) await reapOrphan(deps.root, rec);
  return readRecord(deps.root, rec.id) ?? rec;
}

export async function killContainer(deps: ContainerDeps, nameOrId: string, signal: string): Promise<ContainerRecord> {
  const rec = findRecord(deps.root, nameOrId);
  if (!(await isRunning(deps.root, rec))) throw new UserError('container.not-running', `container ${rec.name} is not running`, '`wharf ps -a` shows its state');
  await resumeContainer(refOf(deps.root, rec));
  const why = await runtimeSignal(refOf(deps.root, rec), signal.replace(/^SIG/i, '').toUpperCase());
  if (why) throw new UserError('container.kill-failed', `cannot send ${signal} to container ${rec.name}: ${why}`, 'give a signal name (TERM, KILL, HUP, …) or number');
  return rec;
}

/** Removes the container, its changes and its runtime state; a running one only with `force` (an orphaned one always). */
export async function removeContainer(deps: ContainerDeps, nameOrId: string, force: boolean): Promise<ContainerRecord> {
  const rec = findRecord(deps.root, nameOrId);
  const ref = refOf(deps.root, rec);
  const { status, orphaned } = await observedStatus(deps.root, rec);
  // An orphan (its watcher killed) is what a killed wharf left: `rm` cleans it up, process and all.
  if (status === 'running') {
    if (!force && !orphaned) throw new UserError('container.running', `container ${rec.name} is running`, `stop it first (\`wharf stop ${rec.name}\`) or use \`wharf rm -f ${rec.name}\``);
    await resumeContainer(ref);
    await runtimeSignal(ref, 'KILL');
    // An orphan's process (its watcher killed) is gone with the runtime's `delete --force` below.
    if (!orphaned) await waitStopped(deps.root, rec.id, 10_000);
  }
  await removeContainerDir(deps.root, rec.id);
  return rec;
}

/** Everything of a container, including what a killed wharf left (its runtime container, a mount). */
export async function removeContainerDir(root: string, id: string): Promise<void> {
  const p = pathsOf(root, id);
  await deleteContainer({ rootDir: p.runtimeRoot, id: runtimeId(id) });
  await unmountRootfs(root, id);
  await rm(p.dir, { recursive: true, force: true });
}
