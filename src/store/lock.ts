import { link, readFile, rename, unlink } from 'node:fs/promises';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomHex, UserError } from '../util/index.js';

/**
 * An inter-process lock on one host: a file created with O_EXCL holding `pid starttime nonce`.
 * A holder that died (kill -9) is detected at once by pid liveness (and its start time, so a
 * recycled pid does not keep a dead holder's lock), instead of waiting for an mtime to age as
 * mkdir/mtime locks do. The lock is not meant for roots shared between hosts.
 */
export interface Lock {
  release(): Promise<void>;
}

export interface LockOptions {
  /** Give up after this long (ms); a live holder is waited for. `Infinity` waits for good. */
  readonly timeoutMs?: number;
  /** Stops waiting for a live holder (rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** What is locked, for the timeout error (default: the store). */
  readonly what?: string;
}

/** Start time of a process in clock ticks since boot (Linux), or '' where /proc is missing. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may contain spaces, so count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** True if the process that wrote `owner` (`pid starttime nonce`) is still running. */
export function ownerAlive(owner: string): boolean {
  const [pidText, start] = owner.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = startTime(pid);
  return !(start && now && now !== start);
}

export const pidAlive = (pid: number): boolean => ownerAlive(`${pid}`);

let ownStart: string | undefined;
const ownerLine = (nonce: string): string => `${process.pid} ${(ownStart ??= startTime(process.pid) ?? '')} ${nonce}\n`;

export async function acquireLock(path: string, tmpDir: string, opts: LockOptions = {}): Promise<Lock> {
  return (await takeLock(path, tmpDir, opts, true))!;
}

/** The lock if it is free (or its holder is dead), else undefined at once. */
export async function tryAcquireLock(path: string, tmpDir: string): Promise<Lock | undefined> {
  return takeLock(path, tmpDir, {}, false);
}

async function takeLock(path: string, tmpDir: string, opts: LockOptions, wait: boolean): Promise<Lock | undefined> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const nonce = randomHex(8);
  const line = ownerLine(nonce);
  // The owner line is written first and linked into place, so the lock file never exists
  // empty (an empty file would look like a dead holder and be broken while its owner lives).
  // Synchronous but for the waiting: a free lock was six thread-pool round trips of every tag.
  mkdirSync(tmpDir, { recursive: true });
  const draft = join(tmpDir, `${process.pid}.lockfile.${nonce}`);
  writeFileSync(draft, line, { mode: 0o644 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(draft, path);
        return { release: async () => releaseLock(path, nonce) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      if (!(await waitOrBreak(path, tmpDir, wait ? deadline : -Infinity, attempt, opts))) return undefined;
    }
  } finally {
    try {
      unlinkSync(draft);
    } catch {
      // already gone
    }
  }
}

/** Waits a little or breaks a dead holder's lock; false when a live holder is there and `deadline` is -Infinity. */
async function waitOrBreak(path: string, tmpDir: string, deadline: number, attempt: number, opts: LockOptions): Promise<boolean> {
  const owner = await readFile(path, 'utf8').catch(() => undefined);
  if (owner === undefined) return true; // released meanwhile: try again at once
  if (owner === '' || !ownerAlive(owner)) {
    await breakStale(path, tmpDir, owner);
    return true;
  }
  if (deadline === -Infinity) return false;
  if (Date.now() > deadline) {
    throw new UserError('store.locked', `${opts.what ?? 'the store'} is locked by another wharf process (${path}: ${owner.trim()})`, 'wait for it to finish, or remove the lock file if that process is gone');
  }
  opts.signal?.throwIfAborted();
  await sleep(Math.min(5 + attempt * 5, 100), undefined, opts.signal ? { signal: opts.signal } : undefined).catch(() => opts.signal?.throwIfAborted());
  return true;
}

/**
 * Moves a dead holder's lock aside. Two breakers may race: the loser's rename fails (ENOENT),
 * or it moved a fresh lock, which it notices by the content and puts back.
 */
async function breakStale(path: string, tmpDir: string, judged: string): Promise<void> {
  const aside = join(tmpDir, `${process.pid}.stale-lock.${randomHex(6)}`);
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  const moved = await readFile(aside, 'utf8').catch(() => judged);
  if (moved !== judged && ownerAlive(moved)) {
    // link, not rename: it fails instead of replacing a lock someone took in the meantime.
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

function releaseLock(path: string, nonce: string): void {
  let owner = '';
  try {
    owner = readFileSync(path, 'utf8');
  } catch {
    return;
  }
  if (!owner.trim().endsWith(nonce)) return;
  try {
    unlinkSync(path);
  } catch {
    // broken by another process meanwhile
  }
}
