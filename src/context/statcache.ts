import { rm } from 'node:fs/promises';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readRegularFileSync, replaceFileSync, sha256HexOf } from '../util/index.js';
import type { Xxh64 } from '../hash/index.js';
import type { ContextEntry } from './walk.js';

/**
 * A persistent stat cache per context directory, like git's index: when a file's size, mtime,
 * ctime, inode and mode are what they were when it was hashed (its stat signature), its
 * fingerprint is reused unread.
 *
 * Racy files: a write that lands within the filesystem's timestamp granularity of our hashing
 * leaves mtime unchanged, so a file whose mtime is that close to the moment we looked is never
 * trusted from the cache (it is hashed again next time, when it is no longer recent).
 */
export const RACY_MARGIN_MS = 2000;

/**
 * The file is a header line, then one line per file: signature, tab, fingerprint, tab, path (JSON
 * quoted when it holds a newline or starts with a quote). The fingerprint field is followed by
 * `|` and the file's carried extended attributes when it has any (v3: a v2 cache never read them,
 * so it is not trusted). Splitting lines is a fifth of what
 * JSON.parse took for a 50,000-file context, and parsing it is most of a no-op build's cache work.
 */
const HEADER = 'wharf-statcache-v3';

interface Record {
  readonly statSig: string;
  readonly fingerprint: Xxh64;
  /** Looked up or made by this build: kept by the next save even when `live` does not list it. */
  used: boolean;
}

/** Past this a cache is not read (it would near Node's string limit) but rebuilt. */
const MAX_STATCACHE_BYTES = 256 * 1024 * 1024;

/** A file's signature as the stat cache compares it. */
type Signature = (e: ContextEntry) => string;

const localSignature: Signature = (e) => e.statSig;

/**
 * For a context streamed as a tar and unpacked afresh each build, inode and ctime are new every
 * time: what is left to compare is what the tar header said (size, mtime, mode, owner), which the
 * applier set on the file. Like docker's, this trusts that a file rewritten with the same size
 * within the same mtime (the tar's whole seconds) did not change.
 */
const streamedSignature: Signature = (e) => `t${e.size}:${e.mtimeMs}:${e.mode.toString(8)}:${e.uid}:${e.gid}`;

export class StatCache {
  /** Records marked used or made since opening (with `dirty`, what save has to write). */
  private used = 0;
  private dirty = false;

  private constructor(
    /** Where the cache is stored; undefined keeps it in memory only. */
    readonly file: string | undefined,
    private records: Map<string, Record>,
    private readonly signature: Signature = localSignature,
  ) {}

  /** `<root>/context/<sha256 of the absolute context path>.statcache`. */
  static fileFor(storeRoot: string, contextDir: string): string {
    const key = sha256HexOf(resolve(contextDir));
    return join(storeRoot, 'context', `${key}.statcache`);
  }

  /** Opens the cache of a context dir; a missing or unreadable cache starts empty. */
  static async open(storeRoot: string, contextDir: string): Promise<StatCache> {
    const file = StatCache.fileFor(storeRoot, contextDir);
    let text = '';
    try {
      // Synchronous: one read, and a thread-pool round trip less before the walk can start. Not
      // blocking and capped: a FIFO or device put in its place must not hang or exhaust wharf.
      text = readRegularFileSync(file, { maxBytes: MAX_STATCACHE_BYTES }).toString('utf8');
    } catch {
      // No cache yet, or not a file wharf wrote: it is only an accelerator, start empty (saving
      // renames a fresh one into place). One an earlier wharf left in JSON would never be read again.
      // Synchronous: one unlink of a file that is almost never there, not a thread-pool round trip.
      rmSync(file.replace(/\.statcache$/, '.json'), { force: true });
    }
    return new StatCache(file, parseRecords(text));
  }

  /**
   * The cache of a context that arrives as a tar stream (`wharf serve`'s POST /build, `build -`),
   * named by `key` (what stays the same across builds of it, e.g. its tags and target) and compared
   * by the tar header's fields (see streamedSignature).
   */
  static async openStreamed(storeRoot: string, key: string): Promise<StatCache> {
    const id = sha256HexOf(`stream\0${key}`);
    const file = join(storeRoot, 'context', `stream-${id}.statcache`);
    let text = '';
    try {
      text = readRegularFileSync(file, { maxBytes: MAX_STATCACHE_BYTES }).toString('utf8');
    } catch {
      // No cache yet: start empty.
    }
    return new StatCache(file, parseRecords(text), streamedSignature);
  }

  /** Deletes a context dir's cache, so the next build reads every file it uses (a cold start). */
  static async forget(storeRoot: string, contextDir: string): Promise<void> {
    await rm(StatCache.fileFor(storeRoot, contextDir), { force: true });
  }

  /** Whether the cache knows no file at all (a first build of this context): every file is read. */
  get empty(): boolean {
    return this.records.size === 0;
  }

  static inMemory(): StatCache {
    return new StatCache(undefined, new Map());
  }

  /** The cached fingerprint when the entry's stat is unchanged; keeps it for the next save. */
  lookup(e: ContextEntry): Xxh64 | undefined {
    const r = this.records.get(e.path);
    if (!r || r.statSig !== this.signature(e)) return undefined;
    if (!r.used) {
      r.used = true;
      this.used++;
    }
    return r.fingerprint;
  }

  /**
   * Remembers a fingerprint computed from content read after `lookedAtMs` (wall clock) — unless
   * the file is racy, see RACY_MARGIN_MS.
   */
  record(e: ContextEntry, fingerprint: Xxh64, lookedAtMs: number): void {
    if (e.mtimeMs >= lookedAtMs - RACY_MARGIN_MS) return;
    if (!this.records.get(e.path)?.used) this.used++;
    this.records.set(e.path, { statSig: this.signature(e), fingerprint, used: true });
    this.dirty = true;
  }

  /**
   * Writes the records used or made since opening, plus earlier ones whose path is still in the
   * context (`live`; records of deleted files are dropped). Only writes when something changed.
   * Through a rename without fsync, as the build cache's records: a kill -9 leaves the old cache
   * or the new one, a power loss may also leave it empty or cut short, and a line that does not
   * parse is dropped (its file is hashed again). The fsync was ~1.5 ms at the end of every build.
   */
  async save(live: readonly ContextEntry[]): Promise<void> {
    if (!this.file) return;
    // Nothing recorded and every record used again: the file on disk is already right.
    if (!this.dirty && this.used === this.records.size) return;
    const livePaths = new Set(live.map((e) => e.path));
    const kept = new Map<string, Record>();
    for (const [path, r] of this.records) if (r.used || livePaths.has(path)) kept.set(path, r);
    if (!this.dirty && kept.size === this.records.size) return;
    mkdirSync(dirname(this.file), { recursive: true });
    replaceFileSync(this.file, formatRecords(kept));
    for (const r of kept.values()) r.used = false;
    this.records = kept;
    this.used = 0;
    this.dirty = false;
  }
}

function formatRecords(records: ReadonlyMap<string, Record>): string {
  const lines = [HEADER];
  for (const [path, r] of records) lines.push(`${r.statSig}\t${r.fingerprint}\t${path.includes('\n') || path.startsWith('"') ? JSON.stringify(path) : path}`);
  return lines.join('\n') + '\n';
}

/** The records of a cache file; anything but the current format (or a damaged line) is dropped. */
function parseRecords(text: string): Map<string, Record> {
  const out = new Map<string, Record>();
  if (!text.startsWith(HEADER + '\n')) return out;
  let at = HEADER.length + 1;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const t1 = text.indexOf('\t', at);
    const t2 = t1 < 0 ? -1 : text.indexOf('\t', t1 + 1);
    if (t2 > 0 && t2 < end) {
      let path = text.slice(t2 + 1, end);
      if (path.startsWith('"')) {
        try {
          path = JSON.parse(path) as string;
        } catch {
          path = '';
        }
      }
      if (path) out.set(path, { statSig: text.slice(at, t1), fingerprint: text.slice(t1 + 1, t2) as Xxh64, used: false });
    }
    at = end + 1;
  }
  return out;
}
