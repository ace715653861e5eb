import { lstatSync, readdirSync, realpathSync, rmdirSync, unlinkSync, utimesSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { isUserError, lstatQuiet } from '../util/index.js';
import { resolveInRootSync, symlinkLoop } from './in-root.js';

/**
 * The OCI runtime creates a mount point (empty file or directory) in the rootfs for every mount
 * destination that is missing — /proc, /dev, /etc/hosts, a bind target. On an overlay rootfs those
 * stubs would land in the upper dir and so in the layer, which Docker's layers never show.
 *
 * Choice: leave existing files alone (we bind over them, the overlay never copies them up), and for
 * missing ones remember the first missing path component before the run and, afterwards, remove
 * exactly what is still an empty stub, deepest first (BuildKit's MountStubsCleaner does the same).
 * The parent directory's times are put back so the removal leaves no trace of a change beyond
 * the copy-up itself. Anything the step filled with content is the step's work and stays.
 *
 * The file system calls are synchronous: a few dozen lookups of a few microseconds each per RUN,
 * which through the thread pool were ~4 ms of round trips.
 */
export interface StubRecord {
  /** Host paths of the missing chain, shallowest first. */
  readonly chain: readonly string[];
  /** Times of the deepest existing ancestor, restored after removal. */
  readonly parent: { readonly path: string; readonly atime: number; readonly mtime: number };
}

export async function recordStubs(rootfsPath: string, destinations: readonly string[], keep: string): Promise<StubRecord[]> {
  // Canonical, so that removal can refuse any path the step turned into a symlink meanwhile.
  const rootfs = realpathSync(rootfsPath);
  // The working directory (and its parents) is the runtime's to create and the layer's to keep,
  // as Docker keeps a WORKDIR it had to create.
  const kept = posix.normalize(keep).split('/').filter(Boolean);
  const records: StubRecord[] = [];
  const seen = new Set<string>();
  for (const dest of destinations) {
    const parts = posix.normalize(dest).split('/').filter(Boolean);
    // Resolve each prefix in the root, so a symlinked /etc is followed as the runtime would.
    let existing = rootfs;
    let i = 0;
    for (; i < parts.length; i++) {
      const host = resolveInRootQuoting(rootfs, '/' + parts.slice(0, i + 1).join('/'), dest);
      const st = lstatQuiet(host);
      if (!st) break;
      existing = host;
    }
    if (i === parts.length) continue;
    const chain: string[] = [];
    let p = existing;
    for (let j = i; j < parts.length; j++) {
      p = join(p, parts[j]!);
      const isCwdPrefix = j < kept.length && parts.slice(0, j + 1).every((c, k) => c === kept[k]);
      if (!isCwdPrefix) chain.push(p);
    }
    if (chain.length === 0) continue;
    if (seen.has(chain[0]!)) {
      // Same first stub as an earlier destination: extend that record's removal list instead.
      const r = records.find((x) => x.chain[0] === chain[0])!;
      (r.chain as string[]).push(...chain.slice(1).filter((c) => !r.chain.includes(c)));
      continue;
    }
    seen.add(chain[0]!);
    const st = lstatSync(existing);
    // Seconds with the sub-millisecond part kept (a Date would round to whole milliseconds).
    records.push({ chain, parent: { path: existing, atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 } });
  }
  return records;
}

/** resolveInRootSync, with a loop named after the mount target it was met on. */
function resolveInRootQuoting(rootfs: string, path: string, dest: string): string {
  try {
    return resolveInRootSync(rootfs, path);
  } catch (e) {
    if (isUserError(e) && e.code === 'fs.symlink-loop') throw symlinkLoop(dest, 'RUN mount target');
    throw e;
  }
}

export async function removeStubs(records: readonly StubRecord[]): Promise<void> {
  for (const r of records) {
    // Deepest first: a path is removed only while it is an empty file or an empty directory.
    const ordered = [...r.chain].sort((a, b) => b.length - a.length);
    let removedAll = true;
    for (const p of ordered) {
      if (!removeIfEmptyStub(p)) removedAll = false;
    }
    if (removedAll || !lstatQuiet(r.chain[0]!)) {
      try {
        utimesSync(r.parent.path, r.parent.atime, r.parent.mtime);
      } catch {
        // the step removed the parent itself
      }
    }
  }
}

function removeIfEmptyStub(path: string): boolean {
  // The step may have replaced a directory on the way with a symlink (to a host path, say);
  // then the recorded path is no longer the stub we recorded, so leave it alone.
  if (realpathQuiet(dirname(path)) !== dirname(path)) return false;
  const st = lstatQuiet(path);
  if (!st) return true;
  if (st.isFile() && st.size === 0) {
    unlinkSync(path);
    return true;
  }
  if (st.isDirectory() && readdirSync(path).length === 0) {
    rmdirSync(path);
    return true;
  }
  return false;
}

function realpathQuiet(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

