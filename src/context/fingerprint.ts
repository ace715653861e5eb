import { open } from 'node:fs/promises';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { readFileXattrsSync, readXattrsOf, UserError, xattrSummary, xattrsReadInProcess } from '../util/index.js';
import type { Xxh64, Xxh64Hasher } from '../hash/index.js';
import type { StatCache } from './statcache.js';
import { statSignature, type ContextEntry } from './walk.js';

/** Counters for benchmarks and tests: how much work the stat cache saved. */
export interface FingerprintCounters {
  filesRead: number;
  bytesHashed: number;
  filesFromCache: number;
}

/** Files up to this size are read whole; larger ones stream through one reused buffer. */
const CHUNK = 128 * 1024;
const PARALLEL_READS = 8;
const YIELD_EVERY = 256;

/**
 * Content fingerprints (xxh64) of regular files in a context dir, served from the stat cache when
 * the file is unchanged. Results are memoised per path for the life of the object (one build).
 */
export class Fingerprinter {
  readonly counters: FingerprintCounters = { filesRead: 0, bytesHashed: 0, filesFromCache: 0 };
  private readonly known = new Map<string, Xxh64>();
  /**
   * The carried extended attributes (xattrSummary) of the files fingerprinted that have any. The
   * stat cache keeps them beside the fingerprint: setting an attribute changes ctime, so a file the
   * cache answers has the attributes it had when it was read.
   */
  readonly xattrs = new Map<string, string>();
  /** Attributes read in one getfattr batch when the addon cannot read them per file. */
  private batchXattrs: ReadonlyMap<string, string> | undefined;
  private readonly pending = new Map<string, Promise<Xxh64>>();
  /** Reused read buffer for small files (hashing copies nothing out of it). */
  private readonly small = Buffer.allocUnsafe(CHUNK + 1);

  /** The hasher once loaded (see `hasherSource`). */
  private hasher: Xxh64Hasher | undefined;

  constructor(
    private readonly contextDir: string,
    /**
     * The hasher, or how to load it: a build whose files all come from the stat cache then never
     * instantiates the wasm module (a no-op build's start-up is most of its time).
     */
    private readonly hasherSource: Xxh64Hasher | (() => Promise<Xxh64Hasher>),
    private readonly cache: StatCache,
    /** Wall clock in ms; injectable so tests can control racy-file detection. */
    private readonly nowMs: () => number = Date.now,
  ) {}

  /**
   * Fingerprints of the regular files among `entries` (others are skipped), by path. The map is
   * this build's: it may hold more files than were asked for.
   */
  async fingerprints(entries: readonly ContextEntry[]): Promise<ReadonlyMap<string, Xxh64>> {
    // What the stat cache answers is taken synchronously: a promise per file was a third of the
    // fingerprinting time of an unchanged 50,000-file context.
    const misses: ContextEntry[] = [];
    for (const e of entries) if (e.type === 'file' && !this.known.has(e.path) && !this.fromCache(e)) misses.push(e);
    if (misses.length && !xattrsReadInProcess()) this.batchXattrs = await this.readBatchXattrs(misses);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < misses.length) {
        await this.fingerprint(misses[next++]!);
        // Small files are read synchronously; let timers and progress output run now and then.
        if (next % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, misses.length) }, worker));
    return this.known;
  }

  /** A file the stat cache could not answer, hashed once however often it is asked for. */
  private fingerprint(e: ContextEntry): Promise<Xxh64> {
    const known = this.known.get(e.path);
    if (known) return Promise.resolve(known);
    let p = this.pending.get(e.path);
    if (!p) {
      p = this.compute(e);
      this.pending.set(e.path, p);
    }
    return p;
  }

  /** The stat cache's answer, remembered for the rest of the build. */
  private fromCache(e: ContextEntry): Xxh64 | undefined {
    const cached = this.cache.lookup(e);
    if (!cached) return undefined;
    this.counters.filesFromCache++;
    const bar = cached.indexOf('|');
    const fingerprint = (bar < 0 ? cached : cached.slice(0, bar)) as Xxh64;
    if (bar >= 0) this.xattrs.set(e.path, cached.slice(bar + 1));
    this.known.set(e.path, fingerprint);
    return fingerprint;
  }

  /** Without the addon: one getfattr process for every file the stat cache could not answer. */
  private async readBatchXattrs(misses: readonly ContextEntry[]): Promise<Map<string, string>> {
    const abs = misses.map((e) => join(this.contextDir, e.path));
    const read = await readXattrsOf(abs);
    const out = new Map<string, string>();
    if (read.size) misses.forEach((e, i) => {
      const summary = xattrSummary(read.get(abs[i]!));
      if (summary) out.set(e.path, summary);
    });
    return out;
  }

  private async compute(e: ContextEntry): Promise<Xxh64> {
    // The clock is read before the content so a write racing the read is caught as racy.
    this.hasher ??= typeof this.hasherSource === 'function' ? await this.hasherSource() : this.hasherSource;
    const lookedAt = this.nowMs();
    // Attributes before content: one set meanwhile changes ctime, so the file is not cached.
    const xattrs = this.batchXattrs ? (this.batchXattrs.get(e.path) ?? '') : xattrSummary(readFileXattrsSync(join(this.contextDir, e.path)));
    const fp = await this.hashFile(e);
    if (fp.unchanged) this.cache.record(e, (xattrs ? `${fp.fingerprint}|${xattrs}` : fp.fingerprint) as Xxh64, lookedAt);
    if (xattrs) this.xattrs.set(e.path, xattrs);
    else this.xattrs.delete(e.path);
    this.known.set(e.path, fp.fingerprint);
    this.pending.delete(e.path);
    return fp.fingerprint;
  }

  private async hashFile(e: ContextEntry): Promise<{ fingerprint: Xxh64; unchanged: boolean }> {
    // Small files are read synchronously: a thread-pool round trip per open/read/stat/close costs
    // more than the read itself. Large files stream asynchronously through one reused buffer.
    return e.size <= CHUNK ? this.hashSmallFile(e) : this.hashLargeFile(e);
  }

  private hashSmallFile(e: ContextEntry): { fingerprint: Xxh64; unchanged: boolean } {
    let fd: number;
    try {
      // O_NOFOLLOW: a file swapped for a symlink after the walk must not lead outside the context.
      fd = openSync(join(this.contextDir, e.path), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      throw unreadable(e, err);
    }
    try {
      // One byte more than expected tells a file that grew since the walk.
      const buf = this.small.length > e.size ? this.small : Buffer.allocUnsafe(e.size + 1);
      let bytes = 0;
      for (;;) {
        const n = readSync(fd, buf, bytes, buf.length - bytes, null);
        if (n === 0 || bytes + n === buf.length) {
          bytes += n;
          break;
        }
        bytes += n;
      }
      const fingerprint = this.hasher!.hash(buf.subarray(0, bytes));
      this.count(bytes);
      return { fingerprint, unchanged: statSignature(fstatSync(fd, { bigint: true })) === e.statSig && bytes === e.size };
    } finally {
      closeSync(fd);
    }
  }

  private async hashLargeFile(e: ContextEntry): Promise<{ fingerprint: Xxh64; unchanged: boolean }> {
    let fh;
    try {
      fh = await open(join(this.contextDir, e.path), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      throw unreadable(e, err);
    }
    try {
      const h = this.hasher!.create();
      const buf = Buffer.allocUnsafe(CHUNK);
      let bytes = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
        bytes += bytesRead;
      }
      this.count(bytes);
      // A file that changed while we read it is not remembered in the stat cache.
      return { fingerprint: h.digest(), unchanged: statSignature(await fh.stat({ bigint: true })) === e.statSig && bytes === e.size };
    } finally {
      await fh.close();
    }
  }

  private count(bytes: number): void {
    this.counters.filesRead++;
    this.counters.bytesHashed += bytes;
  }
}

function unreadable(e: ContextEntry, cause: unknown): UserError {
  return new UserError('context.unreadable', `cannot read ${JSON.stringify(e.path)} in the build context: ${(cause as Error).message}`);
}
