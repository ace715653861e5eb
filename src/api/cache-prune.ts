/**
 * Pruning the build cache by age (docker's `until=`) and by size (`keep-storage`), for
 * `openStore(root).prune()`, which `wharf prune` and the server's prune endpoints call: records are
 * forgotten, oldest first, so GC can then remove the layers only they kept. A record's age is
 * when its step ran. `--keep-storage` counts the bytes the cache alone keeps (a layer a tagged
 * image uses is not freed by forgetting its record, so it counts for nothing).
 */
import { listCacheRecords, openCache, type CacheRecord } from '../cache/index.js';
import { walk, type Store } from '../store/index.js';
import { UserError } from '../util/index.js';
import type { Sha256 } from '../hash/index.js';

export interface CachePrune {
  /** Records older than this many ms go. */
  readonly untilMs?: number;
  /** Then the oldest records go until the cache keeps at most this many bytes. */
  readonly keepBytes?: number;
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`24h`, `1h30m`, `90s`), as docker's until= takes it. */
export function parseDuration(text: string, flag: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(text))) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    end = re.lastIndex;
  }
  if (!text || end !== text.length) throw new UserError('prune.bad-filter', `${flag}: ${JSON.stringify(text)} is not a duration`, 'write it as Go does: 24h, 90m, 1h30m');
  return total;
}

/** Forgets the records the filters select; returns them. GC afterwards frees their layers. */
export async function pruneCache(store: Store, root: string, opts: CachePrune, now = Date.now()): Promise<CacheRecord[]> {
  const records = (await listCacheRecords(root)).sort((a, b) => Date.parse(a.created) - Date.parse(b.created) || (a.key < b.key ? -1 : 1));
  const drop = new Set<CacheRecord>();
  if (opts.untilMs !== undefined) for (const r of records) if (now - Date.parse(r.created) > opts.untilMs) drop.add(r);
  if (opts.keepBytes !== undefined) {
    const tagged = await walk((await store.tags()).map((t) => t.descriptor), (d) => store.readJSON(d.digest, d.size));
    // Bytes per layer the cache alone keeps, and how many remaining records share each.
    const users = new Map<Sha256, number>();
    for (const r of records) if (!drop.has(r) && !tagged.blobs.has(r.layer.digest)) users.set(r.layer.digest, (users.get(r.layer.digest) ?? 0) + 1);
    let total = 0;
    const sizes = new Map(records.map((r) => [r.layer.digest, r.layer.size] as const));
    for (const d of users.keys()) total += sizes.get(d)!;
    for (const r of records) {
      if (total <= opts.keepBytes) break;
      if (drop.has(r)) continue;
      drop.add(r);
      const left = (users.get(r.layer.digest) ?? 0) - 1;
      if (users.has(r.layer.digest)) {
        users.set(r.layer.digest, left);
        if (left === 0) total -= r.layer.size;
      }
    }
  }
  if (!drop.size) return [];
  return openCache(root, store).forget([...drop].map((r) => r.key));
}
