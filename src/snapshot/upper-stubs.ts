import { closeSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, unlinkSync, utimesSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { RUNTIME_MOUNT_POINTS } from './copy-ups.js';
import { copiedUpXattrs, copyUpOwnerAndMode, lowerChild, lowerRoot, type DirOwner, type LowerEntry, type MergedDir } from './lower-view.js';

/**
 * The mount points every RUN's runtime mounts over (/proc, /dev, /sys and the generated /etc
 * files), made in the fresh upper dir before the overlay is mounted, where the image lacks them,
 * and taken out of it after the umount.
 *
 * Why: the runtime made each through the overlay and wharf removed it the same way, and on this
 * host's ext4 a new inode costs 0.15-0.7 ms: with /etc copied up for its first file, 7 new inodes
 * per RUN on an image without them. Here a stub dir is renamed in from a dir of spares and back
 * out after the run (0.02 ms each), and a stub file is a hard link to one empty file.
 *
 * The upper dir must end as it would have without them, so only what the lowers show as missing is
 * made (read through them as overlayfs would, lower-view.ts); /etc is made as overlayfs copies it
 * up (owner, mode, times); and a path with anything unusual on it (a symlink, a file, an /etc with
 * attributes a copy-up would carry) is left to the runtime, which makes its stub the old way. A stub
 * the step replaced is the step's and stays.
 */
export interface UpperStubs {
  /** Paths made, relative to the upper dir, in the order made. */
  readonly made: readonly string[];
  /**
   * After the run, with nothing writing to the upper dir any more: takes out each stub still as
   * made, deepest first (empty dirs go back to the spares), and gives the dirs they were made in
   * back their times, unless the step changed those dirs itself.
   */
  remove(): void;
}

/** A mount point the runtime always mounts over: a directory (a file system) or a file (a bind). */
export interface StubPoint {
  /** Relative to the root, no leading slash. */
  readonly path: string;
  readonly dir: boolean;
}

export const RUN_STUB_POINTS: readonly StubPoint[] = [
  { path: 'proc', dir: true }, { path: 'dev', dir: true }, { path: 'sys', dir: true },
  ...RUNTIME_MOUNT_POINTS.map((p) => ({ path: p.slice(1), dir: false })),
];

/** A dir stubs were made in: its times before them, and its ctime once they were all made. */
interface Holder {
  readonly before: { readonly atime: number; readonly mtime: number };
  after?: bigint;
}

const NONE: UpperStubs = { made: [], remove: () => undefined };
/** Below a missing dir: every name is missing too. */
const EMPTY_DIR: MergedDir = { dirs: [] };
const EMPTY_FILE = 'empty';

/**
 * `spares`: a dir of this process's own, kept across RUNs, holding empty dirs to rename in (and
 * receiving them back) and the empty file stub files are links to. Without one, stubs are new.
 */
export function makeUpperStubs(
  lowers: readonly string[], upper: string, spares?: string, points: readonly StubPoint[] = RUN_STUB_POINTS,
): UpperStubs {
  const root = lowerRoot(lowers);
  if (!root) return NONE; // no in-process xattr reads: the runtime makes its stubs
  mkdirSync(upper, { recursive: true });
  const pool = spares ? sparesIn(spares) : undefined;
  const made: { rel: string; dir: boolean }[] = [];
  const holders = new Map<string, Holder>();
  const hold = (rel: string, times?: { atimeMs: number; mtimeMs: number }) => {
    if (holders.has(rel)) return;
    const st = times ?? lstatSync(join(upper, rel));
    holders.set(rel, { before: { atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 } });
  };
  const copiedUp = new Map<string, LowerEntry & { kind: 'dir' }>();
  const newDir = (rel: string, owner: DirOwner) => {
    const path = join(upper, rel);
    if (!pool?.takeDir(path)) mkdirSync(path);
    copyUpOwnerAndMode(path, owner); // whatever the process umask, or the spare was before
  };
  for (const point of points) {
    const parts = point.path.split('/');
    let parent = root;
    let rel = '';
    let usable = true;
    for (const name of parts.slice(0, -1)) {
      const childRel = rel ? `${rel}/${name}` : name;
      const e = lowerChild(parent, name);
      if (!e || e.kind === 'other') {
        usable = false;
        break;
      }
      if (!made.some((m) => m.rel === childRel) && !copiedUp.has(childRel)) {
        if (e.kind === 'dir') {
          const x = copiedUpXattrs(e.dirs[0]!);
          if (!x || x.size > 0) {
            usable = false;
            break;
          }
          hold(rel);
          newDir(childRel, e.st);
          copiedUp.set(childRel, e);
          hold(childRel, e.st);
        } else {
          hold(rel);
          newDir(childRel, STUB_DIR);
          made.push({ rel: childRel, dir: true });
        }
      }
      parent = e.kind === 'dir' ? e : EMPTY_DIR;
      rel = childRel;
    }
    if (!usable) continue;
    const name = parts.at(-1)!;
    if (lowerChild(parent, name)?.kind !== 'missing') continue; // there: mounted over; unknown: the runtime's
    const childRel = rel ? `${rel}/${name}` : name;
    hold(rel);
    if (point.dir) newDir(childRel, STUB_DIR);
    else if (pool) pool.linkFile(join(upper, childRel));
    else closeSync(openSync(join(upper, childRel), 'wx', 0o644));
    made.push({ rel: childRel, dir: point.dir });
  }
  // Times last, as overlayfs copies a directory up: making a stub in /etc moved its times.
  for (const [rel, e] of copiedUp) utimesSync(join(upper, rel), e.st.atimeMs / 1000, e.st.mtimeMs / 1000);
  for (const [rel, h] of holders) h.after = lstatSync(join(upper, rel), { bigint: true }).ctimeNs;
  if (made.length === 0 && copiedUp.size === 0) return NONE;

  return {
    made: made.map((m) => m.rel),
    remove() {
      // A holder the step changed keeps the times the step left it: its ctime moved, or it holds
      // more than the stubs (a change within the clock's tick leaves the ctime as it was).
      const ours = [...made.map((m) => m.rel), ...copiedUp.keys()];
      const changed = new Map<string, BigIntStats>();
      for (const [rel, h] of holders) {
        const path = join(upper, rel);
        const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
        if (!st?.isDirectory() || !underUpper(upper, rel)) continue;
        const mine = (name: string) => ours.includes(rel ? `${rel}/${name}` : name);
        if (st.ctimeNs !== h.after || !readdirSync(path).every(mine)) changed.set(rel, st);
      }
      for (const m of [...made].reverse()) takeOut(upper, m.rel, m.dir, pool);
      // An /etc copied up for the stubs alone, now empty, goes too (as dropPureCopyUps would).
      for (const rel of [...copiedUp.keys()].reverse()) {
        if (!changed.has(rel) && underUpper(upper, rel) && isEmptyDir(join(upper, rel))) {
          if (pool) pool.giveDir(join(upper, rel));
          else rmdirSync(join(upper, rel));
        }
      }
      for (const [rel, h] of holders) {
        const path = join(upper, rel);
        if (!underUpper(upper, rel) || !lstatSync(path, { throwIfNoEntry: false })?.isDirectory()) continue;
        const st = changed.get(rel);
        if (st) utimesSync(path, Number(st.atimeNs) / 1e9, Number(st.mtimeNs) / 1e9);
        else utimesSync(path, h.before.atime, h.before.mtime);
      }
    },
  };
}

const STUB_DIR = { uid: 0, gid: 0, mode: 0o755 };


/** The spares dir: empty dirs named d<n>, and the one empty file stub files link to. */
interface Spares {
  /** Renames a spare dir to `path`; false when there is none. */
  takeDir(path: string): boolean;
  /** Renames the empty dir `path` into the spares. */
  giveDir(path: string): void;
  /** Links the empty file at `path`. */
  linkFile(path: string): void;
}

function sparesIn(dir: string): Spares {
  mkdirSync(dir, { recursive: true });
  const dirs = readdirSync(dir).filter((n) => /^d\d+$/.test(n));
  let next = dirs.reduce((n, d) => Math.max(n, Number(d.slice(1)) + 1), 0);
  const file = join(dir, EMPTY_FILE);
  let fileChecked = false;
  return {
    takeDir(path) {
      const name = dirs.pop();
      if (name === undefined) return false;
      renameSync(join(dir, name), path);
      return true;
    },
    giveDir(path) {
      const name = `d${next++}`;
      renameSync(path, join(dir, name));
      dirs.push(name);
    },
    linkFile(path) {
      // Checked once per RUN: a step could have written to it through a stub it unmounted.
      if (!fileChecked) {
        const st = lstatSync(file, { throwIfNoEntry: false });
        if (!st?.isFile() || st.size !== 0) {
          rmSync(file, { recursive: true, force: true });
          closeSync(openSync(file, 'wx', 0o644));
        }
        fileChecked = true;
      }
      linkSync(file, path);
    },
  };
}

/** Whether every dir on the way to `rel` (its parents) is a directory, not a symlink the step made. */
function underUpper(upper: string, rel: string): boolean {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    if (!lstatSync(join(upper, ...parts.slice(0, i)), { throwIfNoEntry: false })?.isDirectory()) return false;
  }
  return true;
}

const isEmptyDir = (path: string): boolean =>
  lstatSync(path, { throwIfNoEntry: false })?.isDirectory() === true && readdirSync(path).length === 0;

/** Takes a stub out if it is still one: an empty dir (back to the spares), an empty file. */
function takeOut(upper: string, rel: string, dir: boolean, pool: Spares | undefined): void {
  if (!underUpper(upper, rel)) return;
  const path = join(upper, rel);
  const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  if (!st) return;
  if (dir && st.isDirectory() && readdirSync(path).length === 0) {
    if (pool) pool.giveDir(path);
    else rmdirSync(path);
  } else if (!dir && st.isFile() && st.size === 0n) {
    unlinkSync(path); // a link of the spares' empty file, or a file of its own
  }
}
