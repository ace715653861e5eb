import { chmodSync, lchownSync, lstatSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { readFileXattrsSync, type XattrValues } from '../util/index.js';

/**
 * Read-only lookups through a stack of snapshot dirs (lower dirs, top first) as overlayfs resolves
 * a path in their merged view, without mounting them: a char 0/0 device is a whiteout and hides the
 * name in every layer below; a directory with `trusted.overlay.opaque=y` hides what layers below
 * have at its path; a directory merges only with directories below it, and a non-directory ends
 * the lookup. Symlinks are never followed: a caller that meets one decides what to do (a step
 * writing straight into an upper dir falls back to a real mount).
 */
export type LowerEntry =
  /** Nothing at the path in the merged view (absent, or a whiteout hides it). */
  | { readonly kind: 'missing' }
  /** A directory: the dirs that make it up, top first (the first gives its attributes). */
  | { readonly kind: 'dir'; readonly dirs: readonly string[]; readonly st: Stats }
  /** Anything else (file, symlink, device): the topmost one, which the merged view shows. */
  | { readonly kind: 'other'; readonly path: string; readonly st: Stats };

const OPAQUE = 'trusted.overlay.opaque';

/** A directory of the merged view: the lower dirs that make it up, top first. */
export interface MergedDir {
  readonly dirs: readonly string[];
}

/** The merged root of `lowers`: each lower adds to it until one whose root is opaque. */
export function lowerRoot(lowers: readonly string[]): MergedDir | undefined {
  const dirs: string[] = [];
  for (const l of lowers) {
    const x = readFileXattrsSync(l);
    if (!x) return undefined;
    dirs.push(l);
    if (isOpaque(x)) break;
  }
  return { dirs };
}

/**
 * The entry `name` in the merged directory `parent`. Undefined when it cannot be told without the
 * kernel (no in-process xattr reads): the caller then mounts.
 */
export function lowerChild(parent: MergedDir, name: string): LowerEntry | undefined {
  const dirs: string[] = [];
  let top: Stats | undefined;
  for (const d of parent.dirs) {
    const path = join(d, name);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isCharacterDevice() && st.rdev === 0) break; // a whiteout: lower layers are hidden
    if (!st.isDirectory()) {
      // On top, it is what the view shows; under a directory, overlayfs ignores it and stops.
      if (dirs.length === 0) return { kind: 'other', path, st };
      break;
    }
    const x = readFileXattrsSync(path);
    if (!x) return undefined;
    dirs.push(path);
    top ??= st;
    if (isOpaque(x)) break;
  }
  return top ? { kind: 'dir', dirs, st: top } : { kind: 'missing' };
}

/** What a directory's copy-up takes from the lower one before its xattrs and times. */
export type DirOwner = Pick<Stats, 'uid' | 'gid' | 'mode'>;

/**
 * Gives the dir `path` the owner and mode of a copy-up of `lower` (a lower dir's Stats): owner
 * before mode (chown clears set-id bits). Its xattrs (copiedUpXattrs) and times are the caller's
 * to set, times last.
 */
export function copyUpOwnerAndMode(path: string, lower: DirOwner): void {
  lchownSync(path, lower.uid, lower.gid);
  chmodSync(path, lower.mode & 0o7777);
}

/** The attributes overlayfs copies up with a directory: all but its own `trusted.overlay.*`. */
export function copiedUpXattrs(dir: string): XattrValues | undefined {
  const x = readFileXattrsSync(dir);
  if (!x) return undefined;
  return new Map([...x].filter(([name]) => !name.startsWith('trusted.overlay.')));
}

const isOpaque = (x: XattrValues) => x.get(OPAQUE)?.toString() === 'y';
