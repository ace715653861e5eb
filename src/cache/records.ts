import { linkSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { link, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isSha256, sha256Hex, type Sha256 } from '../hash/index.js';
import { limiter, replaceFile, replaceFileSync, tempSibling, tempSiblingOwner } from '../util/index.js';
import { pidAlive, type BlobStore, type Descriptor, type GcHook } from '../store/index.js';
import { slotOf, type KeyMaterial } from './key.js';

/** The result of one filesystem step: the layer it added, and what its key was made of. */
export interface CacheRecord {
  readonly key: Sha256;
  readonly layer: Descriptor;
  readonly diffId: Sha256;
  readonly material: KeyMaterial;
  /** When the step ran (RFC 3339). */
  readonly created: string;
  /** Finer material than the key keeps (e.g. the per-file tree records of a COPY), to explain misses. */
  readonly detail?: unknown;
}

export interface CacheStore {
  /** The record for a key, only while its layer blob is still in the store. */
  get(key: Sha256): Promise<CacheRecord | undefined>;
  /** Stores the record and makes it the latest one for its step slot (see slotOf). */
  put(record: CacheRecord): Promise<void>;
  /**
   * As put for each, many at once (a fresh runner keeping ~100 imported records): the file
   * creations go through the thread pool side by side instead of one after another.
   */
  putMany?(records: readonly CacheRecord[]): Promise<void>;
  /** The latest record stored for the same instruction: what a miss is explained against. */
  previous(material: KeyMaterial): Promise<CacheRecord | undefined>;
  /**
   * Deletes the records of these keys (absent ones are skipped), so the steps they cached run
   * again; returns the records removed. Their layer blobs stay until GC finds them unused.
   */
  forget(keys: Iterable<Sha256>): Promise<CacheRecord[]>;
  /** Roots for GC: every recorded layer stays alive as long as its record exists. */
  gcHook(): GcHook;
}

/** Record files written at once by putMany. */
const PUT_CONCURRENCY = 8;

/** Records live in `<root>/cache/<key hex>.json`, one file per key, replaced atomically. */
export function openCache(root: string, blobs: Pick<BlobStore, 'has'>): CacheStore {
  const dir = join(root, 'cache');
  // Concatenated, not join()ed: `dir` is normalised already, and a cached step looks its record up
  // in interpreted code where join's normalisation cost ~15 µs a call.
  const fileOf = (key: Sha256) => `${dir}/${sha256Hex(key)}.json`;
  const slotFile = (m: KeyMaterial) => join(dir, 'slots', sha256Hex(slotOf(m)));

  const read = readRecord;

  return {
    async get(key) {
      const rec = await read(fileOf(key));
      if (!rec || rec.key !== key) return undefined;
      return (await blobs.has(rec.layer.digest)) ? rec : undefined;
    },
    async put(record) {
      // Not fsynced: a record lost in a crash is a cache miss (read() takes anything unreadable
      // for absent). The layer it names was made durable before it, or (a build's last layer,
      // whose flush waits for the image's: FsBlobStore.putBytesDeferred) is absent until it is,
      // which get() takes for a miss.
      mkdirSync(join(dir, 'slots'), { recursive: true });
      replaceFileSync(fileOf(record.key), JSON.stringify(record));
      linkSlotSync(fileOf(record.key), slotFile(record.material));
    },
    async putMany(records) {
      mkdirSync(join(dir, 'slots'), { recursive: true });
      const limit = limiter(PUT_CONCURRENCY);
      await Promise.all(
        records.map((record) =>
          limit(async () => {
            await replaceFile(fileOf(record.key), JSON.stringify(record));
            await linkSlot(fileOf(record.key), slotFile(record.material));
          }),
        ),
      );
    },
    async previous(material) {
      let key = '';
      try {
        key = slotKey(readFileSync(slotFile(material), 'utf8'));
      } catch {
        // no earlier run of this instruction (or a slot that does not parse)
      }
      return isSha256(key) ? read(fileOf(key)) : undefined;
    },
    async forget(keys) {
      const removed: CacheRecord[] = [];
      for (const key of new Set(keys)) {
        if (!isSha256(key)) continue;
        const rec = await read(fileOf(key));
        if (!rec || rec.key !== key) continue;
        await rm(fileOf(key), { force: true });
        removed.push(rec);
      }
      return removed;
    },
    gcHook: () => ({
      name: 'build-cache',
      async roots(warn) {
        const out: Descriptor[] = [];
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          // A writer's temp file (`.<key>.json.tmp-<pid>-…`) is never read; a dead writer's goes.
          const writer = tempSiblingOwner(name);
          if (writer !== undefined && !pidAlive(writer)) await rm(join(dir, name), { force: true });
          if (writer !== undefined || !name.endsWith('.json')) continue;
          const rec = await read(join(dir, name));
          if (rec) out.push(rec.layer);
          else warn?.(`skipped the unreadable build cache record ${join(dir, name)} (delete it if it stays)`);
        }
        return out;
      },
    }),
  };
}

/**
 * A slot names the latest record of its instruction. It is a hard link to that record file (made
 * beside it, renamed into place): a link costs ~20 us here where creating a file's inode costs
 * 0.2-0.6 ms, per step. The record is still looked up by its key, so a forgotten record is not
 * found through its slot. Slots written as the bare key (earlier versions) still read.
 */
function linkSlotSync(record: string, slot: string): void {
  const tmp = tempSibling(slot);
  try {
    linkSync(record, tmp);
    renameSync(tmp, slot);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

async function linkSlot(record: string, slot: string): Promise<void> {
  const tmp = tempSibling(slot);
  try {
    await link(record, tmp);
    await rename(tmp, slot);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The key a slot names: the record's own (a link to it) or, in slots of earlier versions, the bare key. */
function slotKey(text: string): string {
  return text.startsWith('{') ? String((JSON.parse(text) as { key?: unknown }).key ?? '') : text.trim();
}

// Synchronous on purpose: a record is a few hundred bytes, and readFile's open/fstat/read/close
// are four thread-pool round trips; a no-op build of 100 steps waited ~100 ms on those.
async function readRecord(path: string): Promise<CacheRecord | undefined> {
  try {
    const rec = JSON.parse(readFileSync(path, 'utf8')) as CacheRecord;
    return isSha256(rec.key) && rec.layer && isSha256(rec.layer.digest) && isSha256(rec.diffId) ? rec : undefined;
  } catch {
    // Absent, or torn by something other than our atomic writes: either way a miss.
    return undefined;
  }
}

/** Every readable record of the store at `root` (unreadable ones skipped), for `wharf prune`'s cache filters. */
export async function listCacheRecords(root: string): Promise<CacheRecord[]> {
  const dir = join(root, 'cache');
  const out: CacheRecord[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (tempSiblingOwner(name) !== undefined || !name.endsWith('.json')) continue;
    const rec = await readRecord(join(dir, name));
    if (rec) out.push(rec);
  }
  return out;
}
