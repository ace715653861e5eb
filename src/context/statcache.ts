import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { atomicWriteFile } from '../util/index.js';
import type { Xxh64 } from '../hash/index.js';
import type { ContextEntry } from './walk.js';

/**
 * A persistent stat cache per context directory, like git's index: when a file's size, mtime,
 * ctime, inode and mode are what they were when it was hashed, its fingerprint is reused unread.
 *
 * Racy files: a write that lands within the filesystem's timestamp granularity of our hashing
 * leaves mtime unchanged, so a file whose mtime is that close to the moment we looked is never
 * trusted from the cache (it is hashed again next time, when it is no longer recent).
 */
export const RACY_MARGIN_NS = 2_000_000_000n;

const FORMAT = 'wharf-statcache-v1';

type Record = readonly [size: number, mtimeNs: string, ctimeNs: string, ino: string, mode: number, fingerprint: Xxh64];

export class StatCache {
  private fresh = new Map<string, Record>();
  private dirty = false;

  private constructor(
    /** Where the cache is stored; undefined keeps it in memory only. */
    readonly file: string | undefined,
    private old: Map<string, Record>,
  ) {}

  /** `<root>/context/<sha256 of the absolute context path>.json`. */
  static fileFor(storeRoot: string, contextDir: string): string {
    const key = createHash('sha256').update(resolve(contextDir)).digest('hex');
    return join(storeRoot, 'context', `${key}.json`);
  }

  /** Opens the cache of a context dir; a missing or unreadable cache starts empty. */
  static async open(storeRoot: string, contextDir: string): Promise<StatCache> {
    const file = StatCache.fileFor(storeRoot, contextDir);
    let old = new Map<string, Record>();
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { format?: string; entries?: { [path: string]: Record } };
      if (parsed.format === FORMAT && parsed.entries) old = new Map(Object.entries(parsed.entries));
    } catch {
      // No cache yet, or a damaged one: it is only an accelerator, start over.
    }
    return new StatCache(file, old);
  }

  /** Deletes a context dir's cache, so the next build reads every file it uses (a cold start). */
  static async forget(storeRoot: string, contextDir: string): Promise<void> {
    await rm(StatCache.fileFor(storeRoot, contextDir), { force: true });
  }

  static inMemory(): StatCache {
    return new StatCache(undefined, new Map());
  }

  /** The cached fingerprint when the entry's stat is unchanged; keeps it for the next save. */
  lookup(e: ContextEntry): Xxh64 | undefined {
    const r = this.fresh.get(e.path) ?? this.old.get(e.path);
    if (!r || !sameStat(r, e)) return undefined;
    this.fresh.set(e.path, r);
    return r[5];
  }

  /**
   * Remembers a fingerprint computed from content read after `lookedAtNs` (wall clock, ns) —
   * unless the file is racy, see RACY_MARGIN_NS.
   */
  record(e: ContextEntry, fingerprint: Xxh64, lookedAtNs: bigint): void {
    if (e.mtimeNs >= lookedAtNs - RACY_MARGIN_NS) return;
    this.fresh.set(e.path, [e.size, e.mtimeNs.toString(), e.ctimeNs.toString(), e.ino.toString(), e.mode, fingerprint]);
    this.dirty = true;
  }

  /**
   * Writes the records used or made since opening, plus earlier ones whose path is still in the
   * context (`livePaths`; records of deleted files are dropped). Only writes when something
   * changed. Atomic: a crash leaves the old cache or the new one.
   */
  async save(livePaths: ReadonlySet<string>): Promise<void> {
    if (!this.file) return;
    // Nothing recorded and every old record used again: the file on disk is already right. (Not
    // dirty means `fresh` holds only records taken over from `old`, so equal sizes mean all of them.)
    if (!this.dirty && this.fresh.size === this.old.size) return;
    const merged = new Map(this.fresh);
    for (const [path, r] of this.old) if (!merged.has(path) && livePaths.has(path)) merged.set(path, r);
    if (!this.dirty && merged.size === this.old.size) return;
    const entries: { [path: string]: Record } = {};
    for (const path of [...merged.keys()].sort()) entries[path] = merged.get(path)!;
    await atomicWriteFile(this.file, JSON.stringify({ format: FORMAT, entries }));
    this.old = merged;
    this.fresh = new Map();
    this.dirty = false;
  }
}

function sameStat(r: Record, e: ContextEntry): boolean {
  return r[0] === e.size && r[1] === e.mtimeNs.toString() && r[2] === e.ctimeNs.toString() && r[3] === e.ino.toString() && r[4] === e.mode;
}
