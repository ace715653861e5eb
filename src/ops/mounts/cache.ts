/**
 * `RUN --mount=type=cache` directories, shared between steps and between wharf processes on the
 * same store. A store of its own beside `store/`, owned by this module (the only code that
 * creates, uses or removes these directories; `wharf prune` reaches it through `pruneCacheMounts`).
 *
 * On-disk contract:
 *
 *   <root>/cache-mounts/<slot>         the directory a step mounts; <slot> is hex(sha256(id)), with
 *                                      `-<n>` for the n-th extra `private` directory of that id
 *   <root>/cache-mounts/<slot>.lock    the slot's guard: the store's pid-liveness lock file, so a
 *                                      killed holder never blocks others
 *   <tmp>/<pid>.cache-use-<slot>.<nonce>  a user's marker in the store's tmp dir; it counts only
 *                                      while its process lives, and is registered under the guard,
 *                                      so prune sees every user
 *
 *   shared   register a marker, use slot 0 alongside anyone else
 *   private  the first slot (0, 1, 2, ...) nobody uses; registered like shared (BuildKit keeps
 *            the extra directories as further caches of the same id)
 *   locked   hold slot 0's guard for the whole step and wait for registered users to leave
 *
 * - Contents are never part of a cache key and never reach a layer: any directory may be emptied
 *   or removed at any time no build holds it (prune moves it aside under its guard first).
 * - A new directory is created with the mount's mode/uid/gid; an existing one is used as it is.
 */
import { chmod, chown, lstat, mkdir, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sha256Hex, sha256Of } from '../../hash/index.js';
import type { Sharing } from '../../instructions/index.js';
import { acquireLock, pidAlive, tryAcquireLock, type Lock, type Store } from '../../store/index.js';
import { randomHex } from '../../util/index.js';

export interface CacheDirInit {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface CacheMountUse {
  readonly dir: string;
  release(): Promise<void>;
}

export interface CacheMountPruneReport {
  /** Slot directory names removed. */
  readonly removed: string[];
  readonly bytesFreed: number;
  /** Slots left because a running build uses them. */
  readonly inUse: number;
}

const DIR = 'cache-mounts';
const USE = 'cache-use-';

const slotName = (id: string, n: number) => `${sha256Hex(sha256Of(id))}${n === 0 ? '' : `-${n}`}`;

export async function useCacheMount(store: Store, id: string, sharing: Sharing, init: CacheDirInit, signal?: AbortSignal): Promise<CacheMountUse> {
  const base = join(store.root, DIR);
  await mkdir(base, { recursive: true });
  const guard = (slot: string) => acquireLock(join(base, `${slot}.lock`), store.tmpDir, { timeoutMs: Infinity, signal });
  if (sharing === 'locked') {
    const slot = slotName(id, 0);
    const lock = await guard(slot);
    try {
      while ((await liveUsers(store.tmpDir, slot)) > 0) await sleep(50, undefined, signal ? { signal } : undefined).catch(() => signal?.throwIfAborted());
      return { dir: await ensureDir(join(base, slot), init), release: () => lock.release() };
    } catch (e) {
      await lock.release();
      throw e;
    }
  }
  for (let n = 0; ; n++) {
    const slot = slotName(id, n);
    // A slot someone holds right now counts as in use for `private`.
    const lock = sharing === 'private' ? await tryAcquireLock(join(base, `${slot}.lock`), store.tmpDir) : await guard(slot);
    if (!lock) continue;
    try {
      if (sharing === 'private' && (await liveUsers(store.tmpDir, slot)) > 0) continue;
      const dir = await ensureDir(join(base, slot), init);
      const marker = tempName(store, USE + slot);
      await writeFile(marker, '');
      return { dir, release: () => unlink(marker).catch(() => undefined) };
    } finally {
      await lock.release();
    }
  }
}

/**
 * For exporting and restoring cache mounts (--cache-to cache-mounts=true): runs `fn` on the
 * directory of mount `id` (its first slot) holding it as a `locked` step would, so no step writes
 * it meanwhile. `exists` says whether the directory is there.
 */
export async function withCacheMountDir<T>(store: Store, id: string, fn: (dir: string, exists: boolean) => Promise<T>): Promise<T> {
  const base = join(store.root, DIR);
  await mkdir(base, { recursive: true });
  const slot = slotName(id, 0);
  const lock = await acquireLock(join(base, `${slot}.lock`), store.tmpDir, { timeoutMs: Infinity });
  try {
    while ((await liveUsers(store.tmpDir, slot)) > 0) await sleep(50);
    const dir = join(base, slot);
    return await fn(dir, !!(await stat(dir).catch(() => undefined)));
  } finally {
    await lock.release();
  }
}

/** Removes every cache mount directory no running build uses; each is moved aside under its guard first. */
export async function pruneCacheMounts(store: Store): Promise<CacheMountPruneReport> {
  const base = join(store.root, DIR);
  const removed: string[] = [];
  let bytesFreed = 0;
  let inUse = 0;
  for (const slot of (await readdir(base).catch(() => [] as string[])).filter((n) => !n.includes('.')).sort()) {
    const lock: Lock | undefined = await tryAcquireLock(join(base, `${slot}.lock`), store.tmpDir);
    if (!lock) {
      inUse++;
      continue;
    }
    const aside = tempName(store, 'cache-prune');
    try {
      if ((await liveUsers(store.tmpDir, slot)) > 0) {
        inUse++;
        continue;
      }
      await rename(join(base, slot), aside);
    } finally {
      await lock.release();
    }
    bytesFreed += await diskUsage(aside);
    await rm(aside, { recursive: true, force: true });
    removed.push(slot);
  }
  return { removed, bytesFreed, inUse };
}

/** A name in the store's tmp dir that counts as this process's (swept once it is gone). */
const tempName = (store: Store, kind: string) => join(store.tmpDir, `${process.pid}.${kind}.${randomHex(8)}`);

async function ensureDir(dir: string, init: CacheDirInit): Promise<string> {
  if (await stat(dir).catch(() => undefined)) return dir;
  await mkdir(dir, { recursive: true });
  await chmod(dir, init.mode);
  await chown(dir, init.uid, init.gid);
  return dir;
}

async function liveUsers(tmpDir: string, slot: string): Promise<number> {
  let n = 0;
  for (const name of await readdir(tmpDir).catch(() => [] as string[])) {
    const [pid, kind] = name.split('.');
    if (kind === USE + slot && pidAlive(Number(pid))) n++;
  }
  return n;
}

/** Bytes a tree takes on disk (as du counts them). */
async function diskUsage(path: string): Promise<number> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return 0;
  let total = st.blocks * 512;
  if (st.isDirectory()) for (const name of await readdir(path)) total += await diskUsage(join(path, name));
  return total;
}
