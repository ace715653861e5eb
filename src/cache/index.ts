/**
 * cache: versioned cache keys for filesystem steps and the records that let a rebuild reuse them.
 *
 *   cacheKey(withEnvelope(build, parent, step)) → Sha256   sha256 of the canonical JSON of the key material
 *   const cache = openCache(root, blobs)
 *   await cache.get(key) → CacheRecord | undefined   (only while its layer blob is in the store)
 *   await cache.put(record)                  atomic write under <root>/cache/
 *   await cache.forget(keys)                 deletes those records (wharf bench --mode cold)
 *   openBuildHistory(root).last(id) / .save(id, steps)   the steps of a target's last build (miss baseline)
 *   cache.gcHook()                           keeps every recorded layer blob alive through GC
 *   encodeCacheExport / parseCacheManifest / parseCacheConfig   the --cache-to/--cache-from format (exchange.ts)
 *   buildCacheView(local, imported)          one build's cache: local records, then imported ones (imported.ts)
 */
export {
  cacheKey,
  explainMiss,
  withEnvelope,
  type BuildKeyFields,
  type CopyKey,
  type KeyMaterialField,
  type ParentKey,
  type StepKey,
  type StepKeyMaterial,
} from './key.js';
export { listCacheRecords, openCache, type CacheRecord, type CacheStore } from './records.js';
export { openBuildHistory, type BaselineStep, type BuildHistory, type BuildIdentity } from './builds.js';
export {
  CACHE_CONFIG_MEDIA_TYPE,
  CACHE_REF_ANNOTATION,
  INLINE_CACHE_FIELD,
  inlineCacheValue,
  MAX_CACHE_CONFIG_BYTES,
  MAX_CACHE_MANIFEST_BYTES,
  OCI_MANIFEST_MEDIA_TYPE,
  checkBlob,
  encodeCacheExport,
  parseCacheConfig,
  parseCacheManifest,
  parseCacheMounts,
  type CacheMountEntry,
  type CacheExportMode,
  type CacheManifest,
  type EncodedCacheExport,
} from './exchange.js';
export { buildCacheView, chainRecords, type BuildCacheView, type ImportedRecord, type LayerSource } from './imported.js';
