import { lstat } from 'node:fs/promises';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/index.js';
import type { MatchInfo, Pattern, PatternMatcher } from './patternmatcher.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

/** Directories read between two yields to the event loop. */
const YIELD_EVERY_DIRS = 64;

/** One path of the build context, as lstat saw it (symlinks are never followed). */
export interface ContextEntry {
  /** Slash-separated, relative to the context root, never "." */
  readonly path: string;
  readonly type: EntryType;
  /** Permission bits (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** The link text for a symlink. */
  readonly linkTarget?: string;
  /** For the stat cache only; never part of a digest. */
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
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
    let names: string[];
    try {
      names = readdirSync(absDir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // An unreadable directory that is filtered out anyway does not fail the walk.
      if (dirSkipped && (code === 'EACCES' || code === 'EPERM')) return;
      throw new UserError('context.unreadable', `cannot read build context directory ${JSON.stringify(relDir || '.')}: ${(e as Error).message}`);
    }
    names.sort(compareNames);
    const parent = parents[parents.length - 1];
    for (const name of names) {
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const abs = join(absDir, name);
      const entry = statEntry(abs, rel);
      if (!entry) continue; // vanished during the walk
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
        await visit(abs, rel, [...parents, frame], skip);
      }
    }
  };

  try {
    const st = await lstat(root);
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

/** Go sorts names by bytes; UTF-16 order differs from that only around surrogate pairs. */
function compareNames(a: string, b: string): number {
  if (/[\ud800-\uffff]/.test(a) || /[\ud800-\uffff]/.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * lstat is synchronous on purpose: it answers from the inode cache in microseconds, far less than
 * a thread-pool round trip; the walk yields to the event loop every YIELD_EVERY_DIRS directories.
 */
function statEntry(abs: string, rel: string): ContextEntry | undefined {
  let st;
  try {
    st = lstatSync(abs, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError('context.unreadable', `cannot read ${JSON.stringify(rel)} in the build context: ${(e as Error).message}`);
  }
  const type: EntryType = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  const base = {
    path: rel,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === 'file' || type === 'symlink' ? Number(st.size) : 0,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    ino: st.ino,
  };
  return type === 'symlink' ? { ...base, linkTarget: readlinkSync(abs) } : base;
}
