/**
 * The cache one build sees: the store's own records, then records imported from cache sources
 * (--cache-from) for this build only. An imported record is a hit even while its layer blob is
 * not in the store: the blob is fetched when something needs it (see LayerFetcher), so a build
 * whose steps all hit downloads only what its result keeps. Every record the build hit or wrote is
 * remembered, for --cache-to.
 *
 *   const view = buildCacheView(local, imported)
 *   solve(plan, ops, { cache: view, ... })
 *   view.used()                   records this build hit or wrote, by key
 *   view.usedImported()           the imported ones among them
 */
import type { Sha256 } from '../hash/index.js';
import type { Descriptor } from '../store/index.js';
import type { CacheRecord, CacheStore } from './records.js';

/** Where an imported record's layer can be fetched from. */
export interface LayerSource {
  /** For messages and events: `type=local,src=DIR` or the registry reference. */
  readonly name: string;
}

export interface ImportedRecord {
  readonly record: CacheRecord;
  readonly source: LayerSource;
}

export interface BuildCacheView extends CacheStore {
  used(): ReadonlyMap<Sha256, CacheRecord>;
  /** Imported records this build hit (whose layers may not be in the store yet). */
  usedImported(): readonly ImportedRecord[];
  /** The source an imported layer can be fetched from, if any. */
  sourceOf(layer: Descriptor): ImportedRecord | undefined;
}

export function buildCacheView(local: CacheStore, imported: ReadonlyMap<Sha256, ImportedRecord>): BuildCacheView {
  const used = new Map<Sha256, CacheRecord>();
  const usedImported = new Map<Sha256, ImportedRecord>();
  const byLayer = new Map<Sha256, ImportedRecord>();
  for (const i of imported.values()) byLayer.set(i.record.layer.digest, i);
  return {
    async get(key) {
      const rec = await local.get(key);
      if (rec) {
        used.set(key, rec);
        return rec;
      }
      const imp = imported.get(key);
      if (!imp) return undefined;
      used.set(key, imp.record);
      usedImported.set(key, imp);
      return imp.record;
    },
    async put(record) {
      used.set(record.key, record);
      await local.put(record);
    },
    async putMany(records) {
      for (const r of records) used.set(r.key, r);
      if (local.putMany) await local.putMany(records);
      else for (const r of records) await local.put(r);
    },
    previous: (material) => local.previous(material),
    forget: (keys) => local.forget(keys),
    gcHook: () => local.gcHook(),
    used: () => used,
    usedImported: () => [...usedImported.values()],
    sourceOf: (layer) => byLayer.get(layer.digest),
  };
}

/**
 * The records of the steps that make up the image whose last filesystem step has key `top`: its
 * parent chain through `records` (mode=min). The chain ends at the base image or scratch.
 */
export function chainRecords(top: string, records: ReadonlyMap<Sha256, CacheRecord>): CacheRecord[] {
  const out: CacheRecord[] = [];
  let key = top;
  for (;;) {
    const rec = records.get(key as Sha256);
    if (!rec || out.includes(rec)) return out.reverse();
    out.push(rec);
    key = rec.material.parent;
  }
}
