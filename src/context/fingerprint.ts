import { open, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/index.js';
import type { Xxh64, Xxh64Hasher } from '../hash/index.js';
import type { StatCache } from './statcache.js';
import type { ContextEntry } from './walk.js';

/** Counters for benchmarks and tests: how much work the stat cache saved. */
export interface FingerprintCounters {
  filesRead: number;
  bytesHashed: number;
  filesFromCache: number;
}

/** Files up to this size are read whole; larger ones stream through one reused buffer. */
const CHUNK = 128 * 1024;
const PARALLEL_READS = 8;

/**
 * Content fingerprints (xxh64) of regular files in a context dir, served from the stat cache when
 * the file is unchanged. Results are memoised per path for the life of the object (one build).
 */
export class Fingerprinter {
  readonly counters: FingerprintCounters = { filesRead: 0, bytesHashed: 0, filesFromCache: 0 };
  private readonly done = new Map<string, Promise<Xxh64>>();

  constructor(
    private readonly contextDir: string,
    private readonly hasher: Xxh64Hasher,
    private readonly cache: StatCache,
    /** Wall clock in ns; injectable so tests can control racy-file detection. */
    private readonly nowNs: () => bigint = () => BigInt(Date.now()) * 1_000_000n,
  ) {}

  /** Fingerprints of the regular files among `entries` (others are skipped), by path. */
  async fingerprints(entries: readonly ContextEntry[]): Promise<Map<string, Xxh64>> {
    const files = entries.filter((e) => e.type === 'file');
    const out = new Map<string, Xxh64>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const e = files[next++]!;
        out.set(e.path, await this.fingerprint(e));
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, files.length) }, worker));
    return out;
  }

  fingerprint(e: ContextEntry): Promise<Xxh64> {
    let p = this.done.get(e.path);
    if (!p) {
      p = this.compute(e);
      this.done.set(e.path, p);
    }
    return p;
  }

  private async compute(e: ContextEntry): Promise<Xxh64> {
    const cached = this.cache.lookup(e);
    if (cached) {
      this.counters.filesFromCache++;
      return cached;
    }
    // The clock is read before the content so a write racing the read is caught as racy.
    const lookedAt = this.nowNs();
    const fp = await this.hashFile(e);
    if (fp.unchanged) this.cache.record(e, fp.fingerprint, lookedAt);
    return fp.fingerprint;
  }

  private async hashFile(e: ContextEntry): Promise<{ fingerprint: Xxh64; unchanged: boolean }> {
    let fh;
    try {
      // O_NOFOLLOW: a file swapped for a symlink after the walk must not lead outside the context.
      fh = await open(join(this.contextDir, e.path), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      throw new UserError('context.unreadable', `cannot read ${JSON.stringify(e.path)} in the build context: ${(err as Error).message}`);
    }
    try {
      let fingerprint: Xxh64;
      let bytes = 0;
      if (e.size <= CHUNK) {
        const data = await fh.readFile();
        bytes = data.length;
        fingerprint = this.hasher.hash(data);
      } else {
        const h = this.hasher.create();
        const buf = Buffer.allocUnsafe(CHUNK);
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
          if (bytesRead === 0) break;
          h.update(buf.subarray(0, bytesRead));
          bytes += bytesRead;
        }
        fingerprint = h.digest();
      }
      this.counters.filesRead++;
      this.counters.bytesHashed += bytes;
      // A file that changed while we read it is not remembered in the stat cache.
      const st = await fh.stat({ bigint: true });
      const unchanged = st.mtimeNs === e.mtimeNs && Number(st.size) === e.size && bytes === e.size;
      return { fingerprint, unchanged };
    } finally {
      await fh.close();
    }
  }
}
