/**
 * A build's --cache-from and --cache-to: reads the cache sources before the build (their records
 * join this build's cache view), fetches an imported record's layer only when something needs it
 * (a step's filesystem, the stored result, an export), and writes the exports after the build.
 *
 * A source that does not exist or cannot be reached is a warning (the build goes on without it,
 * as buildx does); one that is corrupt or foreign is refused as a whole with a warning that says
 * why, and nothing of it is stored. Every blob from a source is checked against its digest (layers
 * also against their diff_id, in the same pass) before it enters the store.
 */
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  buildCacheView,
  chainRecords,
  checkBlob,
  INLINE_CACHE_FIELD,
  inlineCacheValue,
  encodeCacheExport,
  MAX_CACHE_CONFIG_BYTES,
  parseCacheConfig,
  parseCacheManifest,
  parseCacheMounts,
  type BuildCacheView,
  type CacheMountEntry,
  type CacheRecord,
  type CacheStore,
  type ImportedRecord,
} from '../cache/index.js';
import type { Sha256 } from '../hash/index.js';
import { applyLayer, copyVerifiedLayer, layerMediaType, writeLayer, writeLayerFromTar, type Compression } from '../layer/index.js';
import { withCacheMountDir } from '../ops/index.js';
import type { BuildEvent } from '../progress/index.js';
import type { LayerRef, SnapshotStore } from '../snapshot/index.js';
import type { BlobStore, Descriptor, Store } from '../store/index.js';
import type { ImageConfig, ImageDraft } from '../image/index.js';
import { recordPulledBlob, type Repository } from '../registry/index.js';
import { isUserError, limiter, UserError } from '../util/index.js';
import type { CacheDestIo, CacheSourceIo } from './cache-io.js';
import type { CacheToSpec } from './cache-options.js';

export interface CacheImport {
  readonly view: BuildCacheView;
  /** Makes sure these layers' blobs are in the store, fetching imported ones from their source. */
  ensure(layers: readonly LayerRef[]): Promise<void>;
  /** The registry repository an imported layer comes from (a push there can mount it). */
  sourceRepository(layer: Descriptor): Repository | undefined;
  /** Imported layers fetched so far, and their bytes. */
  fetched(): { layers: number; bytes: number };
  /** Imported records whose layers are in the store now become records of the local cache. */
  persist(): Promise<void>;
}

export interface ImportDeps {
  readonly local: CacheStore;
  /** Where cache mounts an export carries are restored (cache-mounts=true). */
  readonly store: Store;
  /** The build's leased blobs: fetched layers are protected until the result is tagged. */
  readonly blobs: BlobStore;
  readonly emit: (e: BuildEvent) => void;
  readonly now: () => number;
}

/** Imported layers downloaded at once. */
const FETCH_CONCURRENCY = 8;

/** A source's records being read: what it holds, or why it cannot be used. */
export type CacheRead = Promise<{ records: CacheRecord[]; mounts: CacheMountEntry[] } | { error: unknown }>;

/**
 * Starts reading every source's manifest and config at once, as early as the build can (beside
 * the Dockerfile's parse, the base image's resolution and the context walk): on a fresh runner
 * these round trips are most of a fully cached build.
 */
export function readCacheSources(sources: readonly CacheSourceIo[]): CacheRead[] {
  return sources.map((io) => readSource(io).catch((error: unknown) => ({ error })));
}

/** Reads every source's records; a failing source is a warning and contributes nothing. */
export async function importCaches(sources: readonly CacheSourceIo[], deps: ImportDeps, started: readonly CacheRead[] = readCacheSources(sources)): Promise<CacheImport> {
  const imported = new Map<Sha256, ImportedRecord>();
  const mountsSeen = new Set<string>();
  for (const [i, io] of sources.entries()) {
    const got = await started[i]!;
    const read = 'error' in got ? undefined : got;
    if ('error' in got) {
      const why = messageOf(got.error);
      const own = why.startsWith(`${io.name}: `) ? why.slice(io.name.length + 2) : why;
      deps.emit({ type: 'cache-warning', message: `cache source ${io.name} ignored: ${own}`, at: deps.now() });
    }
    if (!read) continue;
    const { records, mounts } = read;
    // An earlier source wins for a key both hold: the order of --cache-from is the order of trust.
    for (const record of records) if (!imported.has(record.key)) imported.set(record.key, { record, source: io });
    let restored = 0;
    for (const m of mounts) {
      if (mountsSeen.has(m.id)) continue;
      mountsSeen.add(m.id);
      // A mount that cannot be restored is only a slower step: the build goes on without it.
      const ok = await restoreMount(deps, io, m).catch((e: unknown) => {
        deps.emit({ type: 'cache-warning', message: `cache mount ${m.id} from ${io.name} not restored: ${messageOf(e)}`, at: deps.now() });
        return false;
      });
      if (ok) restored++;
    }
    deps.emit({ type: 'cache-imported', source: io.name, records: records.length, ...(mounts.length ? { mounts: restored } : {}), at: deps.now() });
  }
  const view = buildCacheView(deps.local, imported);
  const inflight = new Map<Sha256, Promise<void>>();
  // A deep image's ~100 small layers over a few kept-alive connections, not ~100 new ones at once.
  const fetchLimit = limiter(FETCH_CONCURRENCY);
  let layers = 0;
  let bytes = 0;

  const fetchOne = async (layer: LayerRef, imp: ImportedRecord): Promise<void> => {
    const io = imp.source as CacheSourceIo;
    const d = imp.record.layer;
    const what = `${io.name}: layer ${d.digest}`;
    const src: Readable = await io.openBlob(d);
    const w = await deps.blobs.writer();
    let n = 0;
    try {
      await copyVerifiedLayer(src, layer.diffId, what, async (c) => {
        n += c.length;
        if (n > d.size) throw new Error(`more than the ${d.size} bytes its descriptor says`);
        await w.write(c);
      });
      await w.commit(d.digest);
    } catch (e) {
      // The step that hit this record has been reported cached already: the build cannot turn it
      // into a miss any more, so it stops, and says which source to fix or leave out.
      const why = messageOf(e);
      throw new UserError('cache.layer-refused', `${what} failed verification: ${why.startsWith(`${what}: `) ? why.slice(what.length + 2) : why}`, `nothing from it was stored; export the cache again, or build without --cache-from ${io.name}`);
    } finally {
      src.destroy();
      await w.abort();
    }
    // A push of the result to that registry then mounts this layer from the cache repository
    // instead of sending it back.
    if (io.repository) await recordPulledBlob(deps.blobs, d.digest, io.repository);
    layers++;
    bytes += n;
    deps.emit({ type: 'cache-fetched', source: io.name, digest: d.digest, bytes: n, at: deps.now() });
  };

  const ensure = async (refs: readonly LayerRef[]): Promise<void> => {
    await Promise.all(
      refs.map(async (layer) => {
        const digest = layer.descriptor.digest;
        const imp = view.sourceOf(layer.descriptor);
        if (!imp || (await deps.blobs.has(digest))) return;
        let p = inflight.get(digest);
        if (!p) {
          p = fetchLimit(() => fetchOne(layer, imp));
          inflight.set(digest, p);
          p.catch(() => inflight.delete(digest));
        }
        await p;
      }),
    );
  };

  return {
    view,
    ensure,
    sourceRepository: (layer) => (view.sourceOf(layer)?.source as CacheSourceIo | undefined)?.repository,
    fetched: () => ({ layers, bytes }),
    async persist() {
      const here: CacheRecord[] = [];
      for (const { record } of view.usedImported()) if (await deps.blobs.has(record.layer.digest)) here.push(record);
      if (deps.local.putMany) await deps.local.putMany(here);
      else for (const r of here) await deps.local.put(r);
    },
  };
}

async function readSource(io: CacheSourceIo): Promise<{ records: CacheRecord[]; mounts: CacheMountEntry[] }> {
  const bytes = await io.manifest();
  if (!bytes) throw new Error('it has no cache yet (a first run exports one with --cache-to)');
  const manifest = parseCacheManifest(bytes, io.name);
  if (!manifest.ok) throw new Error(manifest.error);
  const config = checkBlob(await io.readBlob(manifest.value.config, MAX_CACHE_CONFIG_BYTES), manifest.value.config, io.name);
  if (!config.ok) throw new Error(config.error);
  const records = parseCacheConfig(config.value, manifest.value, io.name);
  if (!records.ok) throw new Error(records.error);
  const mounts = parseCacheMounts(config.value, manifest.value, io.name);
  if (!mounts.ok) throw new Error(mounts.error);
  return { records: records.value, mounts: mounts.value };
}

/**
 * Fills the directory of cache mount `m.id` from its exported layer, unless this store already
 * has contents for it (a runner's own cache is newer than what it imports). The blob is stored
 * (verified against its digest) and applied, checked against its diff_id, into a temp dir that
 * replaces the mount's directory only once complete.
 */
async function restoreMount(deps: ImportDeps, io: CacheSourceIo, m: CacheMountEntry): Promise<boolean> {
  const what = `${io.name}: cache mount ${m.id}`;
  return withCacheMountDir(deps.store, m.id, async (dir, exists) => {
    if (exists && (await readdir(dir)).length > 0) return false;
    await deps.blobs.putStream(await io.openBlob(m.layer), m.layer.digest);
    const tmp = await deps.store.tempDir('cache-mount-restore');
    try {
      await applyLayer(deps.blobs.openRead(m.layer.digest, m.layer.size), join(tmp, 'fs'), { form: 'plain', whiteouts: 'literal', diffId: m.diffId, what });
      if (exists) await rm(dir, { recursive: true, force: true });
      await rename(join(tmp, 'fs'), dir);
      return true;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
}

/**
 * The layers of the cache mounts `ids` (those with a directory in this store), largest dropped
 * first while the total passes `max`, each drop a warning.
 */
async function cacheMountLayers(store: Store, blobs: BlobStore, ids: readonly string[], max: number, deps: Pick<ImportDeps, 'emit' | 'now'>): Promise<CacheMountEntry[]> {
  const out: CacheMountEntry[] = [];
  for (const id of [...new Set(ids)].sort()) {
    const entry = await withCacheMountDir(store, id, async (dir, exists) => {
      if (!exists) return undefined;
      const r = await writeLayer(dir, { form: 'plain', compression: 'none' }, blobs);
      return { id, layer: { mediaType: r.mediaType, digest: r.digest, size: r.size }, diffId: r.diffId };
    });
    if (entry) out.push(entry);
  }
  let total = out.reduce((n, m) => n + m.layer.size, 0);
  for (const m of [...out].sort((a, b) => b.layer.size - a.layer.size)) {
    if (total <= max) break;
    out.splice(out.indexOf(m), 1);
    total -= m.layer.size;
    deps.emit({ type: 'cache-warning', message: `cache mount ${m.id} (${m.layer.size} bytes) left out of the export: the cache mounts pass cache-mounts-max=${max} bytes`, at: deps.now() });
  }
  return out;
}

function messageOf(e: unknown): string {
  if (isUserError(e)) return e.message;
  return e instanceof Error ? e.message : String(e);
}

/** A snapshot store whose `prepare` first fetches the imported layers it is about to unpack. */
export function lazySnapshots(inner: SnapshotStore, ensure: (layers: readonly LayerRef[]) => Promise<void>): SnapshotStore {
  return {
    linkDir: inner.linkDir,
    prepare: async (layers) => {
      await ensure(layers);
      return inner.prepare(layers);
    },
    stage: (l) => inner.stage(l),
    upperDir: () => inner.upperDir(),
    commitUpper: (...a) => inner.commitUpper(...a),
    syncPoint: (p) => inner.syncPoint(p),
    synced: (p) => inner.synced(p),
    removeLayers: (b) => inner.removeLayers(b),
    gcHook: () => inner.gcHook(),
    fsck: (k) => inner.fsck(k),
    flush: (o) => inner.flush(o),
  };
}

/** Layers a cache export sends at once (push sends 6 too). */
const EXPORT_CONCURRENCY = 6;

export interface ExportContext {
  readonly store: Store;
  /** The build's leased blobs. */
  readonly blobs: BlobStore;
  /** The ids of the build's RUN --mount=type=cache mounts (for cache-mounts=true). */
  readonly cacheMountIds: readonly string[];
  readonly emit: (e: BuildEvent) => void;
  readonly now: () => number;
}

/**
 * Writes one --cache-to export: mode=min the records of the result's own steps (the parent chain
 * of `top`), mode=max every record this build hit or wrote. Layers the destination already has
 * are not sent again; imported layers it lacks are fetched first.
 */
export async function exportCache(spec: Exclude<CacheToSpec, { type: 'inline' }>, dest: CacheDestIo, imports: CacheImport, top: string, ctx: ExportContext): Promise<void> {
  const { blobs, ...deps } = ctx;
  const used = imports.view.used();
  const chosen = spec.mode === 'max' ? [...used.values()] : chainRecords(top, used);
  const stored = spec.mounts ? await cacheMountLayers(ctx.store, blobs, ctx.cacheMountIds, spec.mounts.max, deps) : [];
  let records = chosen;
  let mounts = stored;
  if (spec.compression) {
    const as = recompressor(spec.compression, imports, blobs);
    records = await Promise.all(chosen.map(async (r) => ({ ...r, layer: await as(r.layer, r.diffId) })));
    mounts = await Promise.all(stored.map(async (m) => ({ ...m, layer: await as(m.layer, m.diffId) })));
  }
  const encoded = encodeCacheExport(records, spec.mode, mounts);
  const diffIds = new Map([...records, ...mounts].map((r) => [r.layer.digest, r.diffId] as const));
  let layersWritten = 0;
  let bytesWritten = 0;
  let layersMounted = 0;
  // Several layers at once, as push does: a deep build's export is ~100 small layers, each a few
  // round trips (HEAD, POST, PUT) that the registry answers independently.
  const limit = limiter(EXPORT_CONCURRENCY);
  await Promise.all(
    encoded.layers.map((layer) =>
      limit(async () => {
        if (await dest.hasBlob(layer)) return;
        // A layer imported from a repository of the destination's registry is linked there, never
        // downloaded (if it was not already) and sent back.
        const from = imports.sourceRepository(layer);
        if (from && dest.mountBlob && (await dest.mountBlob(layer, from))) {
          layersMounted++;
          return;
        }
        await imports.ensure([{ descriptor: layer, diffId: diffIds.get(layer.digest)! }]);
        await dest.writeBlob(layer, () => blobs.openRead(layer.digest, layer.size));
        layersWritten++;
        bytesWritten += layer.size;
      }),
    ),
  );
  await dest.writeManifest(encoded);
  deps.emit({ type: 'cache-exported', dest: dest.name, records: records.length, ...(spec.mounts ? { mounts: mounts.length } : {}), layersWritten, bytesWritten, ...(layersMounted ? { layersMounted } : {}), at: deps.now() });
}

/**
 * The draft with the inline cache records of its own steps (the chain of `top`), or without any:
 * a base image's inline records are never inherited by an image built on it.
 */
export function withInlineCache(draft: ImageDraft, imports: CacheImport | undefined, top: string): ImageDraft {
  const { [INLINE_CACHE_FIELD]: _inherited, ...config } = draft.config as ImageConfig & Record<string, unknown>;
  if (!imports) return _inherited === undefined ? draft : { ...draft, config: config as ImageConfig };
  const records = chainRecords(top, imports.view.used());
  return { ...draft, config: { ...config, [INLINE_CACHE_FIELD]: inlineCacheValue(records) } as ImageConfig };
}

/**
 * compression=: a layer in another compression is written again in this one (same diff_id, so
 * an image built from the records has the same image ID), once per layer per export.
 */
function recompressor(compression: Compression, imports: CacheImport, blobs: BlobStore) {
  const done = new Map<Sha256, Promise<CacheRecord['layer']>>();
  return (layer: CacheRecord['layer'], diffId: Sha256): Promise<CacheRecord['layer']> => {
    if (layer.mediaType === layerMediaType(compression)) return Promise.resolve(layer);
    let p = done.get(layer.digest);
    if (!p) {
      p = (async () => {
        await imports.ensure([{ descriptor: layer, diffId }]);
        const r = await writeLayerFromTar(blobs.openRead(layer.digest, layer.size), compression, blobs, { diffId, what: `layer ${layer.digest}` });
        return { mediaType: r.mediaType, digest: r.digest, size: r.size };
      })();
      done.set(layer.digest, p);
    }
    return p;
  };
}
