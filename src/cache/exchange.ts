/**
 * The cache export format (--cache-to / --cache-from): an OCI image manifest whose config blob has
 * the wharf cache media type and holds the records; the records' layers are the manifest's layers,
 * as the store keeps them. Distribution accepts it as an ordinary manifest; skopeo and umoci see a
 * manifest with an unknown config type and leave it alone.
 *
 *   const { config, manifest } = encodeCacheExport(records, mode)       bytes to write, layers to copy
 *   const m = parseCacheManifest(bytes, what)                             Result: the config and layer descriptors
 *   const records = parseCacheConfig(bytes, m, what)                      Result: records whose keys check out
 *
 * Inline (--cache-to type=inline): the same config body sits in the image's own config under
 * INLINE_CACHE_FIELD, for the image's own layers; an image manifest is then read as a cache source.
 *
 * Nothing read from a cache source is trusted: sizes are capped, every blob is read against its
 * digest by the caller, each record's key must be the digest of its own key material (a record that
 * claims a key it was not made from is corruption, not a miss), and its layer must be one the
 * manifest lists. A record of another key version is simply skipped (it could never match).
 */
import { isSha256, sha256Of, type Sha256 } from '../hash/index.js';
import type { Descriptor } from '../store/index.js';
import { err, ok, type Result } from '../util/index.js';
import { CACHE_KEY_VERSION, cacheKey, type KeyMaterial } from './key.js';
import type { CacheRecord } from './records.js';

export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.wharf.cache.config.v1+json';
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
/** The annotation (and index.json ref name) a cache manifest is found by in a local export. */
export const CACHE_REF_ANNOTATION = 'org.opencontainers.image.ref.name';
/** Format of the config; bumped when a reader could not make sense of a newer one. */
export const CACHE_EXPORT_VERSION = 1;
export const MAX_CACHE_MANIFEST_BYTES = 4 << 20;
/** Records carry their key material and detail (per-file trees of COPYs): larger than an image config. */
export const MAX_CACHE_CONFIG_BYTES = 64 << 20;

export type CacheExportMode = 'min' | 'max';

/** The image config field inline cache records go in (BuildKit's is `moby.buildkit.cache.v0`). */
export const INLINE_CACHE_FIELD = 'wharf.cache.v1';
const IMAGE_CONFIG_TYPES = ['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json'];

export interface CacheExportConfig {
  readonly version: typeof CACHE_EXPORT_VERSION;
  readonly mode: CacheExportMode;
  readonly records: readonly CacheRecord[];
  /** `RUN --mount=type=cache` directories (cache-mounts=true), each as a layer of its contents. */
  readonly cacheMounts?: readonly CacheMountEntry[];
}

/** One exported cache mount: its id (as RUN --mount names it) and the layer of its directory. */
export interface CacheMountEntry {
  readonly id: string;
  readonly layer: Descriptor;
  readonly diffId: Sha256;
}

export interface CacheManifest {
  readonly schemaVersion: 2;
  readonly mediaType: typeof OCI_MANIFEST_MEDIA_TYPE;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  /** An image manifest: its config may hold inline cache records (INLINE_CACHE_FIELD). */
  readonly inline?: true;
}

export interface EncodedCacheExport {
  readonly config: Uint8Array;
  readonly configDescriptor: Descriptor;
  readonly manifest: Uint8Array;
  readonly manifestDescriptor: Descriptor;
  /** Each layer once, in record order. */
  readonly layers: readonly Descriptor[];
}

const bytesOf = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** The config field value of an inline cache: the image's own records (mode=min). */
export function inlineCacheValue(records: readonly CacheRecord[]): CacheExportConfig {
  // Without layer descriptors: the image's manifest names its layers (by diff_id), and how they are
  // compressed (stored plain here, gzip once pushed) must not change the image ID.
  const sorted = [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(({ layer: _layer, ...r }) => r);
  return { version: CACHE_EXPORT_VERSION, mode: 'min', records: sorted as unknown as CacheRecord[] };
}

export function encodeCacheExport(records: readonly CacheRecord[], mode: CacheExportMode, mounts: readonly CacheMountEntry[] = []): EncodedCacheExport {
  const sorted = [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const layers = new Map<Sha256, Descriptor>();
  for (const { layer: l } of [...sorted, ...mounts]) if (!layers.has(l.digest)) layers.set(l.digest, { mediaType: l.mediaType, digest: l.digest, size: l.size });
  const configBody: CacheExportConfig = { version: CACHE_EXPORT_VERSION, mode, records: sorted, ...(mounts.length ? { cacheMounts: mounts } : {}) };
  const config = bytesOf(configBody);
  const configDescriptor: Descriptor = { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha256Of(config), size: config.length };
  const manifestBody: CacheManifest = { schemaVersion: 2, mediaType: OCI_MANIFEST_MEDIA_TYPE, config: configDescriptor, layers: [...layers.values()] };
  const manifest = bytesOf(manifestBody);
  return { config, configDescriptor, manifest, manifestDescriptor: { mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: sha256Of(manifest), size: manifest.length }, layers: [...layers.values()] };
}

const isDigest = (v: unknown): v is Sha256 => typeof v === 'string' && isSha256(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function descriptorOf(v: unknown): Descriptor | undefined {
  if (!isObject(v) || typeof v.mediaType !== 'string' || !isDigest(v.digest)) return undefined;
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) return undefined;
  return { mediaType: v.mediaType, digest: v.digest, size: v.size };
}

/** A cache manifest, or why these bytes are not one (`what` names the source in the message). */
export function parseCacheManifest(bytes: Uint8Array, what: string): Result<CacheManifest, string> {
  if (bytes.length > MAX_CACHE_MANIFEST_BYTES) return err(`${what}: the manifest is ${bytes.length} bytes, more than the ${MAX_CACHE_MANIFEST_BYTES} allowed`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return err(`${what}: the manifest is not JSON`);
  }
  if (!isObject(v) || v.schemaVersion !== 2) return err(`${what}: not an OCI image manifest`);
  const config = descriptorOf(v.config);
  if (!config) return err(`${what}: the manifest has no valid config descriptor`);
  const inline = IMAGE_CONFIG_TYPES.includes(config.mediaType);
  if (!inline && config.mediaType !== CACHE_CONFIG_MEDIA_TYPE) return err(`${what}: not a wharf cache (its config is ${config.mediaType}, not ${CACHE_CONFIG_MEDIA_TYPE})`);
  if (config.size > MAX_CACHE_CONFIG_BYTES) return err(`${what}: the cache config is ${config.size} bytes, more than the ${MAX_CACHE_CONFIG_BYTES} allowed`);
  if (!Array.isArray(v.layers)) return err(`${what}: the manifest has no layers list`);
  const layers: Descriptor[] = [];
  for (const [i, l] of v.layers.entries()) {
    const d = descriptorOf(l);
    if (!d) return err(`${what}: layer ${i} of the manifest is not a valid descriptor`);
    layers.push(d);
  }
  return ok({ schemaVersion: 2, mediaType: OCI_MANIFEST_MEDIA_TYPE, config, layers, ...(inline ? { inline: true as const } : {}) });
}

/** The records of a cache config the caller has read against `manifest.config`'s digest. */
export function parseCacheConfig(bytes: Uint8Array, manifest: CacheManifest, what: string): Result<CacheRecord[], string> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return err(`${what}: the cache config is not JSON`);
  }
  if (!isObject(v)) return err(`${what}: the cache config is not an object`);
  // An inline cache's records name the layers as the building store kept them; the pushed image
  // may carry them compressed for the wire, so they are matched by diff_id to the manifest's own.
  let byDiffId: Map<string, Descriptor> | undefined;
  if (manifest.inline) {
    const rootfs = v.rootfs;
    const diffIds = isObject(rootfs) && Array.isArray(rootfs.diff_ids) ? (rootfs.diff_ids as unknown[]) : [];
    byDiffId = new Map(manifest.layers.map((l, i) => [String(diffIds[i]), l] as const));
    v = v[INLINE_CACHE_FIELD];
    if (v === undefined) return err(`${what}: an image without inline cache records (build it with --cache-to type=inline, or export the cache with --cache-to type=registry)`);
    if (!isObject(v)) return err(`${what}: the image's ${INLINE_CACHE_FIELD} is not an object`);
  }
  if (v.version !== CACHE_EXPORT_VERSION) return err(`${what}: cache format version ${String(v.version)} (this wharf reads version ${CACHE_EXPORT_VERSION}); export it again with this wharf`);
  if (!Array.isArray(v.records)) return err(`${what}: the cache config has no records list`);
  const layers = new Map(manifest.layers.map((l) => [l.digest, l] as const));
  const out: CacheRecord[] = [];
  for (const [i, r] of v.records.entries()) {
    const bad = (why: string) => err(`${what}: record ${i} ${why}`);
    if (!isObject(r) || !isObject(r.material)) return bad('is not a cache record');
    const material = r.material as unknown as KeyMaterial;
    if (material.v !== CACHE_KEY_VERSION) continue;
    if (!isDigest(r.key) || cacheKey(material) !== r.key) return bad('has a key that is not the digest of its key material');
    const layer = byDiffId ? byDiffId.get(String(r.diffId)) : descriptorOf(r.layer);
    if (!layer) return bad(byDiffId ? `names diff_id ${String(r.diffId)}, which the image does not have` : 'has no valid layer descriptor');
    const listed = layers.get(layer.digest);
    if (!listed || listed.size !== layer.size) return bad(`names layer ${layer.digest}, which the manifest does not list with that size`);
    if (!isDigest(r.diffId)) return bad('has no valid diffId');
    if (typeof r.created !== 'string' || Number.isNaN(Date.parse(r.created))) return bad('has no valid created time');
    out.push({ key: r.key, layer, diffId: r.diffId, material, created: r.created, ...(r.detail !== undefined ? { detail: r.detail } : {}) });
  }
  return ok(out);
}

/** The cache mounts of a cache config (already accepted by parseCacheConfig); none in an inline cache. */
export function parseCacheMounts(bytes: Uint8Array, manifest: CacheManifest, what: string): Result<CacheMountEntry[], string> {
  if (manifest.inline) return ok([]);
  const v = JSON.parse(Buffer.from(bytes).toString('utf8')) as { cacheMounts?: unknown };
  if (v.cacheMounts === undefined) return ok([]);
  if (!Array.isArray(v.cacheMounts)) return err(`${what}: cacheMounts is not a list`);
  const layers = new Map(manifest.layers.map((l) => [l.digest, l] as const));
  const out: CacheMountEntry[] = [];
  for (const [i, m] of v.cacheMounts.entries()) {
    const layer = isObject(m) ? descriptorOf(m.layer) : undefined;
    if (!isObject(m) || typeof m.id !== 'string' || !m.id || !layer || !isDigest(m.diffId)) return err(`${what}: cache mount ${i} is not an id with a layer and a diffId`);
    if (layers.get(layer.digest)?.size !== layer.size) return err(`${what}: cache mount ${m.id} names a layer the manifest does not list`);
    out.push({ id: m.id, layer, diffId: m.diffId });
  }
  return ok(out);
}

/** The digest check every blob read from a cache source goes through. */
export function checkBlob(bytes: Uint8Array, d: Descriptor, what: string): Result<Uint8Array, string> {
  if (bytes.length !== d.size) return err(`${what}: blob ${d.digest} is ${bytes.length} bytes, its descriptor says ${d.size}`);
  if (sha256Of(bytes) !== d.digest) return err(`${what}: blob ${d.digest} does not match its digest`);
  return ok(bytes);
}
