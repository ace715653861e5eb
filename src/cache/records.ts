import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isSha256, sha256Hex, type Sha256 } from '../hash/index.js';
import { atomicWriteFile } from '../util/index.js';
import type { BlobStore, Descriptor, GcHook } from '../store/index.js';
import type { KeyMaterial } from './key.js';

/** The result of one filesystem step: the layer it added, and what its key was made of. */
export interface CacheRecord {
  readonly key: Sha256;
  readonly layer: Descriptor;
  readonly diffId: Sha256;
  readonly material: KeyMaterial;
  /** When the step ran (RFC 3339), for `history.created` on reuse. */
  readonly created: string;
}

export interface CacheStore {
  /** The record for a key, only while its layer blob is still in the store. */
  get(key: Sha256): Promise<CacheRecord | undefined>;
  put(record: CacheRecord): Promise<void>;
  /** Roots for GC: every recorded layer stays alive as long as its record exists. */
  gcHook(): GcHook;
}

/** Records live in `<root>/cache/<key hex>.json`, one file per key, written atomically. */
export function openCache(root: string, blobs: Pick<BlobStore, 'has'>): CacheStore {
  const dir = join(root, 'cache');
  const fileOf = (key: Sha256) => join(dir, `${sha256Hex(key)}.json`);

  async function read(path: string): Promise<CacheRecord | undefined> {
    try {
      const rec = JSON.parse(await readFile(path, 'utf8')) as CacheRecord;
      return isSha256(rec.key) && rec.layer && isSha256(rec.layer.digest) && isSha256(rec.diffId) ? rec : undefined;
    } catch {
      // Absent, or torn by something other than our atomic writes: either way a miss.
      return undefined;
    }
  }

  return {
    async get(key) {
      const rec = await read(fileOf(key));
      if (!rec || rec.key !== key) return undefined;
      return (await blobs.has(rec.layer.digest)) ? rec : undefined;
    },
    async put(record) {
      await mkdir(dir, { recursive: true });
      await atomicWriteFile(fileOf(record.key), JSON.stringify(record));
    },
    gcHook: () => ({
      name: 'build-cache',
      async roots() {
        const out: Descriptor[] = [];
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          if (!name.endsWith('.json')) continue;
          const rec = await read(join(dir, name));
          if (rec) out.push(rec.layer);
        }
        return out;
      },
    }),
  };
}
