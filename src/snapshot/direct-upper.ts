import { lstatSync, mkdirSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { restoreXattrs, type Xattrs } from '../layer/index.js';
import { readRegularFileSync } from '../util/index.js';
import { copiedUpXattrs, copyUpOwnerAndMode, lowerChild, lowerRoot, type LowerEntry, type MergedDir } from './lower-view.js';

/**
 * A step that only adds files (WORKDIR, COPY) written straight into a fresh upper dir, with no
 * overlay mounted: no mount, no lookups through it, and no umount, which synced the upper file
 * system before the layer blob's own fsync (that one now flushes the step's files). The upper
 * dir must come out exactly as overlayfs would leave it, so this is used only where that can be
 * shown:
 *
 * - plan: every existing directory on the way to the destination (and those a context COPY copies
 *   into) is made in the upper dir as overlayfs copies one up (mode, owner, the xattrs it carries:
 *   all but its own `trusted.overlay.*`; its times, restored on the parent too); no symlink and no
 *   non-directory may be on the way (their resolution needs the merged view). A new directory
 *   gets no `trusted.overlay.opaque`, as the kernels wharf runs on leave it (6.x); where an older
 *   one sets it, a layer made on a mount says `.wh..wh..opq` in a directory with nothing below;
 * - the step writes into the upper dir as it would into the merged tree;
 * - settle: every entry the step made beside what the lowers have is checked against them (a new
 *   name, or a non-directory replacing a non-directory: what overlayfs leaves is the new entry
 *   alone); copied-up directories the step never touched (see touched()) are removed, as
 *   overlayfs would never have copied them up.
 *
 * Undefined or false anywhere means "mount instead": the caller then runs the step the usual way.
 */
export interface DirectUpper {
  readonly upper: string;
  /** /etc/passwd and /etc/group read through the lowers; throws NeedsMount when they cannot be. */
  readonly userFiles: (path: '/etc/passwd' | '/etc/group') => string;
  /** After the step wrote: checks and trims the upper dir; false if it must be redone on a mount. */
  settle(): boolean;
}

/** Thrown (and caught by the caller) when a read needs the merged view after all. */
export class NeedsMount extends Error {
  constructor(why: string) {
    super(`needs an overlay mount: ${why}`);
  }
}

/** A directory made in the upper dir as a copy-up of the lowers' one. */
interface CopiedUp {
  readonly rel: string;
  readonly lower: LowerEntry & { kind: 'dir' };
  /** Its lstat once made: a step that touched it changed one of these. */
  made?: { ctimeNs: bigint; mtimeNs: bigint; mode: bigint; uid: bigint; gid: bigint };
}

/**
 * Makes `upper` (absent) ready for a step that writes at or below `dest` (path components).
 * `replaceFile`: dest may be a regular file of the image that the step replaces.
 */
export async function directUpper(
  lowers: readonly string[], upper: string, dest: readonly string[], replaceFile: boolean,
  /** Directories the step makes below dest (relative to it, parents first), if it says. */
  dirsBelow: readonly string[] = [],
): Promise<DirectUpper | undefined> {
  const root = lowerRoot(lowers);
  if (!root) return undefined;
  const chain: CopiedUp[] = [];
  let parent = root;
  for (const [i, name] of dest.entries()) {
    if (name === '..' || name === '.') return undefined;
    const e = lowerChild(parent, name);
    if (!e) return undefined;
    if (e.kind === 'missing') break;
    if (e.kind === 'other') {
      if (i === dest.length - 1 && replaceFile && e.st.isFile()) break;
      return undefined;
    }
    chain.push({ rel: dest.slice(0, i + 1).join('/'), lower: e });
    parent = e;
  }
  // A directory the step makes where the image has one is copied up too (the copy finds it there,
  // keeps its owner and mode, and sets its time, which copies it up), so the copy sees it as it
  // would in the merged view.
  if (chain.length === dest.length && dirsBelow.length) {
    const destRel = dest.join('/');
    const found = new Map<string, MergedDir>([['', chain.at(-1)?.lower ?? root]]);
    for (const below of dirsBelow) {
      const up = found.get(parentOf(below));
      if (!up) continue;
      const e = lowerChild(up, below.slice(below.lastIndexOf('/') + 1));
      if (!e) return undefined;
      if (e.kind !== 'dir') continue;
      found.set(below, e);
      chain.push({ rel: destRel ? `${destRel}/${below}` : below, lower: e });
    }
  }
  mkdirSync(upper);
  // Top down: a parent before its child.
  const xattrs: [string, Xattrs][] = [];
  for (const c of chain) {
    const path = join(upper, c.rel);
    mkdirSync(path);
    copyUpOwnerAndMode(path, c.lower.st);
    const x = copiedUpXattrs(c.lower.dirs[0]!);
    if (!x) return undefined;
    if (x.size) xattrs.push([c.rel, x]);
  }
  await restoreXattrs(upper, xattrs);
  // Times last: making the child moved the parent's (overlayfs restores them the same way).
  for (const c of chain) utimesSync(join(upper, c.rel), c.lower.st.atime, c.lower.st.mtime);
  for (const c of chain) {
    const st = lstatSync(join(upper, c.rel), { bigint: true });
    c.made = { ctimeNs: st.ctimeNs, mtimeNs: st.mtimeNs, mode: st.mode, uid: st.uid, gid: st.gid };
  }

  return {
    upper,
    userFiles: (path) => readThroughLowers(root, path),
    settle: () => settle(upper, root, chain),
  };
}

/** The relative path of a relative path's parent ('' for the root). */
const parentOf = (rel: string): string => rel.slice(0, Math.max(rel.lastIndexOf('/'), 0));

function settle(upper: string, root: MergedDir, made: CopiedUp[]): boolean {
  // A copy-up is kept when the step touched it or anything below it; the others are removed, the
  // topmost of each, and their parent gets back the times it had before.
  const kept = new Set<string>();
  const childrenOf = new Map<string, string[]>();
  for (const c of made) {
    const parentRel = parentOf(c.rel);
    childrenOf.set(parentRel, [...(childrenOf.get(parentRel) ?? []), c.rel.slice(c.rel.lastIndexOf('/') + 1)]);
  }
  for (const c of made) {
    if (!touched(join(upper, c.rel), c, childrenOf.get(c.rel) ?? [])) continue;
    for (let rel = c.rel; rel && !kept.has(rel); rel = parentOf(rel)) kept.add(rel);
  }
  for (const c of made) {
    if (kept.has(c.rel)) continue;
    const parentRel = parentOf(c.rel);
    if (parentRel && !kept.has(parentRel)) continue; // goes with its parent
    const parent = join(upper, parentRel);
    const times = lstatSync(parent);
    rmSync(join(upper, c.rel), { recursive: true });
    if (parentRel) utimesSync(parent, times.atime, times.mtime);
  }
  const copied = new Map(made.filter((c) => kept.has(c.rel)).map((c) => [c.rel, c.lower]));
  return checkNew(upper, '', root, copied);
}

/**
 * Whether the step changed a copied-up dir: its ctime, or (where the kernel's coarse timestamps
 * could leave the ctime as it was) its times, mode, owner, or entries beyond the copy-ups in it. So
 * a dir the step wrote into is never taken for untouched and removed.
 */
function touched(path: string, c: CopiedUp, copiedUpChildren: readonly string[]): boolean {
  const st = lstatSync(path, { bigint: true });
  const m = c.made!;
  if (st.ctimeNs !== m.ctimeNs || st.mtimeNs !== m.mtimeNs || st.mode !== m.mode || st.uid !== m.uid || st.gid !== m.gid) return true;
  const names = readdirSync(path);
  return names.length !== copiedUpChildren.length || names.some((n) => !copiedUpChildren.includes(n));
}

/** Whether every entry of the upper dir `rel` (merged with `lower`) is one overlayfs would leave as is. */
function checkNew(upper: string, rel: string, lower: MergedDir, copied: ReadonlyMap<string, LowerEntry & { kind: 'dir' }>): boolean {
  for (const name of readdirSync(join(upper, rel))) {
    const childRel = rel ? `${rel}/${name}` : name;
    const below = copied.get(childRel);
    if (below) {
      if (!checkNew(upper, childRel, below, copied)) return false;
      continue;
    }
    const st = lstatSync(join(upper, childRel));
    if (st.isCharacterDevice() || st.isBlockDevice()) return false;
    const l = lowerChild(lower, name);
    if (!l) return false;
    if (l.kind === 'missing') continue;
    // A non-directory replacing a non-directory: overlayfs leaves the new one alone in the upper
    // dir. A directory over a directory (a merge) or any change of type: mount instead.
    if (l.kind === 'other' && !st.isDirectory()) continue;
    return false;
  }
  return true;
}

/** Larger than any real passwd or group file (as runtime/user.ts). */
const MAX_DB_BYTES = 32 * 1024 * 1024;

function readThroughLowers(root: MergedDir, path: string): string {
  const parts = path.split('/').filter(Boolean);
  let dir = root;
  for (const [i, name] of parts.entries()) {
    const e = lowerChild(dir, name);
    if (!e) throw new NeedsMount(`cannot read ${path} through the lowers`);
    if (e.kind === 'missing') return '';
    if (i === parts.length - 1) {
      if (e.kind === 'other' && e.st.isFile()) return readRegularFileSync(e.path, { maxBytes: MAX_DB_BYTES, what: `${path} in the image` }).toString('utf8');
      throw new NeedsMount(`${path} is not a regular file in the image`);
    }
    if (e.kind !== 'dir') throw new NeedsMount(`${path} has a symlink or a file on its way`);
    dir = e;
  }
  return '';
}

