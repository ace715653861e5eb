import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { compareBytewise, DIR_STAT_FIELDS, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, UserError, nativeAddon, type DirStats, type FileEntry, type FileType } from '../util/index.js';
import type { MatchInfo, Pattern, PatternMatcher } from './patternmatcher.js';

/** What lstat tells apart in a context: devices, FIFOs and sockets are all `other` (COPY refuses them). */
export type EntryType = Extract<FileType, 'file' | 'dir' | 'symlink' | 'other'>;

/** Directories read between two yields to the event loop. */
const YIELD_EVERY_DIRS = 64;

/** One path of the build context, as lstat saw it (symlinks are never followed). */
export interface ContextEntry extends FileEntry<EntryType> {
  /** Slash-separated, relative to the context root, never "." */
  readonly path: string;
  /** The link text for a symlink. */
  readonly linkTarget?: string;
  /** Modification time in whole milliseconds; never part of a digest. */
  readonly mtimeMs: number;
  /** What the stat cache compares (see statSignature); never part of a digest. */
  readonly statSig: string;
}

export interface WalkOptions {
  /** Paths that match are left out (the .dockerignore; `!` re-includes). */
  readonly exclude?: PatternMatcher;
  /** When given, only matching paths (and the directories holding them) are kept. */
  readonly include?: PatternMatcher;
}

interface DirFrame {
  readonly entry: ContextEntry;
  readonly includeInfo: MatchInfo;
  readonly excludeInfo: MatchInfo;
  emitted: boolean;
}

/**
 * Walks a context directory depth-first in lexical order, as tonistiigi/fsutil's walker does for
 * BuildKit: an excluded directory is not even read when no `!` exception could reach inside it, and
 * a directory that is itself excluded is still listed (before its child) when a child is re-included.
 */
export async function walkContext(root: string, opts: WalkOptions = {}): Promise<ContextEntry[]> {
  const { include, exclude } = opts;
  const onlyPrefixIncludes = include ? include.patterns.every((p) => p.exclusion || !/[*?[\\]/.test(withoutTrailingGlob(p))) : true;
  const onlyPrefixExceptions = exclude ? exclude.patterns.every((p) => !p.exclusion || !/[*?[\\]/.test(withoutTrailingGlob(p))) : true;
  const out: ContextEntry[] = [];

  // Could a pattern of this kind (inclusion or `!` exception) name something below dir?
  const reachesInside = (pm: PatternMatcher, dir: string, exclusion: boolean): boolean =>
    pm.patterns.some((p) => p.exclusion === exclusion && (withoutTrailingGlob(p) + '/').startsWith(dir + '/'));

  let dirsRead = 0;
  const visit = async (absDir: string, relDir: string, parents: DirFrame[], dirSkipped: boolean): Promise<void> => {
    // readdir is synchronous too (see statEntry): a thread-pool round trip per directory was ~200
    // ms of waiting in a no-op build of a 1,051-directory context. Timers and output still run
    // between batches of directories.
    if (++dirsRead % YIELD_EVERY_DIRS === 0) await new Promise((r) => setImmediate(r));
    let listing: ContextEntry[] | undefined;
    try {
      listing = listDir(absDir, relDir);
    } catch (e) {
      if (e instanceof UserError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      // An unreadable directory that is filtered out anyway does not fail the walk.
      if (dirSkipped && (code === 'EACCES' || code === 'EPERM')) return;
      throw new UserError('context.unreadable', `cannot read build context directory ${JSON.stringify(relDir || '.')}: ${(e as Error).message}`);
    }
    if (!listing) return;
    const parent = parents[parents.length - 1];
    for (const entry of listing) {
      const rel = entry.path;
      const isDir = entry.type === 'dir';
      let skip = false;
      let includeInfo: MatchInfo = [];
      let excludeInfo: MatchInfo = [];
      if (include) {
        const r = include.matchesUsingParentResults(rel, parent?.includeInfo ?? []);
        includeInfo = r.info;
        if (!r.matched) {
          if (isDir && onlyPrefixIncludes && !reachesInside(include, rel, false)) continue;
          skip = true;
        }
      }
      if (exclude) {
        const r = exclude.matchesUsingParentResults(rel, parent?.excludeInfo ?? []);
        excludeInfo = r.info;
        if (r.matched) {
          if (isDir && onlyPrefixExceptions && (!exclude.exclusions || !reachesInside(exclude, rel, true))) continue;
          skip = true;
        }
      }
      if (!skip) {
        for (const p of parents) {
          if (!p.emitted) {
            out.push(p.entry);
            p.emitted = true;
          }
        }
        out.push(entry);
      }
      if (isDir) {
        const frame: DirFrame = { entry, includeInfo, excludeInfo, emitted: !skip };
        await visit(join(absDir, baseName(rel)), rel, [...parents, frame], skip);
      }
    }
  };

  try {
    const st = lstatSync(root);
    if (!st.isDirectory()) throw new UserError('context.not-a-directory', `build context ${JSON.stringify(root)} is not a directory`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError('context.not-found', `cannot read build context ${JSON.stringify(root)}: ${(e as Error).message}`);
  }
  await visit(root, '', [], false);
  return out;
}

/** fsutil's patternWithoutTrailingGlob: `dir/**` and `dir/*` both reach into dir. */
function withoutTrailingGlob(p: Pattern): string {
  let s = p.toString();
  if (s.endsWith('/**')) s = s.slice(0, -3);
  if (s.endsWith('/*')) s = s.slice(0, -2);
  return s;
}

/**
 * One directory's entries in Go's name order, or undefined when it is gone. Synchronous on
 * purpose: lstat answers from the inode cache in microseconds, far less than a thread-pool round
 * trip; the walk yields to the event loop every YIELD_EVERY_DIRS directories. The native addon
 * does the listing and every lstat in one call (relative to the directory, without BigInts).
 */
function listDir(absDir: string, relDir: string): ContextEntry[] | undefined {
  const addon = nativeAddon();
  return addon ? listDirNative(addon.readDirStats(absDir, relDir === '' ? '' : `${relDir}/`), absDir) : listDirNode(absDir, relDir);
}

function listDirNative(listing: DirStats | null, absDir: string): ContextEntry[] | undefined {
  if (!listing) return undefined;
  const paths = listing[0].split('\0');
  const stats = listing[1];
  const sigs = listing[2].split('\0');
  const out: ContextEntry[] = [];
  for (let i = 0, f = 0; f < stats.length; i++, f += DIR_STAT_FIELDS) {
    const mode = stats[f]!;
    const type = typeOfMode(mode);
    const entry: ContextEntry = {
      path: paths[i]!,
      type,
      mode: mode & 0o7777,
      uid: stats[f + 1]!,
      gid: stats[f + 2]!,
      size: type === 'file' || type === 'symlink' ? stats[f + 3]! : 0,
      mtimeMs: stats[f + 4]!,
      statSig: sigs[i]!,
    };
    out.push(type === 'symlink' ? withLinkTarget(entry, join(absDir, baseName(entry.path))) : entry);
  }
  return out;
}

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

function listDirNode(absDir: string, relDir: string): ContextEntry[] | undefined {
  let names: string[];
  try {
    names = readdirSync(absDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  names.sort(compareBytewise);
  const out: ContextEntry[] = [];
  for (const name of names) {
    const entry = statEntry(join(absDir, name), relDir === '' ? name : `${relDir}/${name}`);
    if (entry) out.push(entry); // else vanished during the walk
  }
  return out;
}

function typeOfMode(mode: number): EntryType {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'symlink';
    default:
      return 'other';
  }
}

function withLinkTarget(entry: ContextEntry, abs: string): ContextEntry {
  try {
    return { ...entry, linkTarget: readlinkSync(abs) };
  } catch (e) {
    throw new UserError('context.unreadable', `cannot read ${JSON.stringify(entry.path)} in the build context: ${(e as Error).message}`);
  }
}

/**
 * What the stat cache compares to trust a fingerprint unread: size, mtime, ctime, inode and mode
 * (with type bits). The native addon builds the same string (native/wharf_native.c).
 */
export function statSignature(st: BigIntStats): string {
  const ns = (t: bigint) => `${t / 1_000_000_000n}.${t % 1_000_000_000n}`;
  return `${st.size}:${ns(st.mtimeNs)}:${ns(st.ctimeNs)}:${st.ino}:${st.mode}`;
}

function statEntry(abs: string, rel: string): ContextEntry | undefined {
  let st;
  try {
    st = lstatSync(abs, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError('context.unreadable', `cannot read ${JSON.stringify(rel)} in the build context: ${(e as Error).message}`);
  }
  const type = typeOfMode(Number(st.mode));
  const entry: ContextEntry = {
    path: rel,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === 'file' || type === 'symlink' ? Number(st.size) : 0,
    mtimeMs: Number(st.mtimeNs / 1_000_000n),
    statSig: statSignature(st),
  };
  return type === 'symlink' ? withLinkTarget(entry, abs) : entry;
}
