import { closeSync, fsync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, rmSync, writeFileSync, type Stats } from 'node:fs';
import { open, rename, mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { nowMs } from './clock.js';
import { randomHex } from './crypto.js';

/** A unique sibling name for a temp file, so the final rename stays on one filesystem. */
export function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomHex(6)}`);
}

/** The pid in a tempSibling name (`.<name>.tmp-<pid>-<hex>`), or undefined for any other name. */
export function tempSiblingOwner(name: string): number | undefined {
  const m = /^\..*\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** fsync a directory so a rename inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * fsync of several descriptors at once: each on a thread of the pool, so the file system commits
 * them together (one journal commit on ext4) where one after another waited for each. One
 * descriptor is fsynced on this thread, as before.
 */
export async function fsyncAll(fds: readonly number[]): Promise<void> {
  if (fds.length === 1) return fsyncSync(fds[0]!);
  const results = await Promise.allSettled(fds.map((fd) => new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())))));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/** fsyncDir without the thread pool, for a small write that is synchronous throughout. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `data` to `path` so that a crash at any instant leaves either the old file or the new one:
 * temp file → fsync → rename → fsync of the directory. See replaceFileSync for files that may be lost.
 */
export async function atomicWriteFile(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(path));
}

/**
 * For long runs of synchronous fs calls: `await slice()` between items gives the event loop a turn
 * once `ms` have passed since the last one (other stages' steps, progress output, Ctrl-C).
 */
export function timeSlicer(ms: number): () => Promise<void> {
  let since = nowMs();
  return async () => {
    if (nowMs() - since < ms) return;
    await new Promise((r) => setImmediate(r));
    since = nowMs();
  };
}

/** File-type bits of st_mode (Linux), for code that reads raw modes (the addon's listings). */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;

/**
 * Replaces `path` with `data` through a temp file and a rename, without fsync: readers never see a
 * half-written file while the machine runs, but a crash may lose the new file (or leave an empty
 * one). For accelerators whose reader treats anything unreadable as absent (build cache records):
 * their two fsyncs and six thread-pool round trips were ~2 ms of every step.
 */
export function replaceFileSync(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = tempSibling(path);
  try {
    writeFileSync(tmp, data, { mode });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** replaceFileSync through the thread pool, for many files written side by side. */
export async function replaceFile(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = tempSibling(path);
  try {
    await writeFile(tmp, data, { mode });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** lstat, or undefined for a path that cannot be looked at (missing, ENOTDIR, EACCES). */
export function lstatQuiet(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** A directory's names, or none when it cannot be read (missing, not a directory). */
export function readdirQuiet(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
