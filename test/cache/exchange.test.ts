import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CACHE_KEY_VERSION, type KeyMaterial } from '../../src/cache/key.js';
import {
  buildCacheView,
  CACHE_CONFIG_MEDIA_TYPE,
  cacheKey,
  chainRecords,
  checkBlob,
  encodeCacheExport,
  parseCacheConfig,
  parseCacheManifest,
  parseCacheMounts,
  type CacheRecord,
  type CacheStore,
} from '../../src/cache/index.js';
import { sha256Of, type Sha256 } from '../../src/hash/index.js';

// The --cache-to/--cache-from format on its own: what an export holds and what an import refuses.
const layerOf = (s: string) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256Of(s), size: s.length });

function record(parent: string, cmd: string): CacheRecord {
  const material: KeyMaterial = { v: CACHE_KEY_VERSION, parent, op: { kind: 'RUN', command: { shell: cmd } }, exec: { env: [] }, platform: 'linux/amd64' };
  return { key: cacheKey(material), layer: layerOf(cmd), diffId: sha256Of(`tar ${cmd}`), material, created: '2024-01-01T00:00:00Z' };
}

const r1 = record('scratch', 'one');
const r2 = record(r1.key, 'two');
const side = record('scratch', 'side');

test('an export round-trips: manifest → config → the same records; layers listed once each', () => {
  const e = encodeCacheExport([r2, r1, side], 'max');
  const m = parseCacheManifest(e.manifest, 'src');
  assert.ok(m.ok);
  assert.equal(m.value.config.mediaType, CACHE_CONFIG_MEDIA_TYPE);
  assert.equal(m.value.config.digest, sha256Of(e.config));
  assert.equal(m.value.layers.length, 3);
  const recs = parseCacheConfig(e.config, m.value, 'src');
  assert.ok(recs.ok);
  assert.deepEqual(new Set(recs.value.map((r) => r.key)), new Set([r1.key, r2.key, side.key]));
  // Deterministic: the same records in another order give the same bytes.
  assert.deepEqual(encodeCacheExport([side, r1, r2], 'max').manifest, e.manifest);
});

test('an import refuses a foreign manifest, a forged key, an unlisted layer, an unknown version, and bad bytes', () => {
  const e = encodeCacheExport([r1, r2], 'min');
  const m = parseCacheManifest(e.manifest, 'src');
  assert.ok(m.ok);
  const helm = JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: sha256Of('x'), size: 1 }, layers: [] });
  const foreign = parseCacheManifest(new TextEncoder().encode(helm), 'src');
  assert.ok(!foreign.ok && /not a wharf cache/.test(foreign.error));
  // An image manifest is a source only if its config carries inline records.
  const image = parseCacheManifest(new TextEncoder().encode(helm.replace('application/vnd.cncf.helm.config.v1+json', 'application/vnd.oci.image.config.v1+json')), 'src');
  assert.ok(image.ok && image.value.inline);
  const noInline = parseCacheConfig(new TextEncoder().encode('{"architecture":"amd64","os":"linux"}'), image.value, 'src');
  assert.ok(!noInline.ok && /an image without inline cache records/.test(noInline.error));

  const cfg = JSON.parse(Buffer.from(e.config).toString()) as { version: number; records: CacheRecord[] };
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const forged = parseCacheConfig(enc({ ...cfg, records: [{ ...cfg.records[0]!, key: `sha256:${"0".repeat(64)}` }, cfg.records[1]] }), m.value, 'src');
  assert.ok(!forged.ok && /record 0 has a key that is not the digest of its key material/.test(forged.error));
  const unlisted = parseCacheConfig(enc({ ...cfg, records: [{ ...cfg.records[0]!, layer: layerOf('elsewhere') }] }), m.value, 'src');
  assert.ok(!unlisted.ok && /does not list/.test(unlisted.error));
  const newer = parseCacheConfig(enc({ ...cfg, version: 2 }), m.value, 'src');
  assert.ok(!newer.ok && /version 2/.test(newer.error));
  // A record of another key version could never match: skipped, not an error.
  const old = parseCacheConfig(enc({ ...cfg, records: [{ ...cfg.records[0]!, material: { ...cfg.records[0]!.material, v: 0 } }] }), m.value, 'src');
  assert.ok(old.ok && old.value.length === 0);

  assert.ok(!checkBlob(e.config.subarray(1), m.value.config, 'src').ok);
  const flipped = Buffer.from(e.config);
  flipped[5] = flipped[5]! ^ 1;
  assert.ok(!checkBlob(flipped, m.value.config, 'src').ok);
  assert.ok(checkBlob(e.config, m.value.config, 'src').ok);
});

test('cache mounts: an export lists their layers; a mount naming an unlisted layer is refused', () => {
  const mount = { id: 'pkgs', layer: layerOf('mount'), diffId: sha256Of('tar mount') };
  const e = encodeCacheExport([r1], 'min', [mount]);
  const m = parseCacheManifest(e.manifest, 'src');
  assert.ok(m.ok);
  assert.ok(m.value.layers.some((l) => l.digest === mount.layer.digest));
  const got = parseCacheMounts(e.config, m.value, 'src');
  assert.ok(got.ok);
  assert.deepEqual(got.value, [mount]);
  const without = parseCacheManifest(encodeCacheExport([r1], 'min').manifest, 'src');
  assert.ok(without.ok);
  const bad = parseCacheMounts(e.config, without.value, 'src');
  assert.ok(!bad.ok && /cache mount pkgs names a layer the manifest does not list/.test(bad.error));
});

test('mode=min follows the parent chain of the result; the build view hits imported records without their blobs', async () => {
  const used = new Map<Sha256, CacheRecord>([r1, r2, side].map((r) => [r.key, r] as const));
  assert.deepEqual(chainRecords(r2.key, used).map((r) => r.key), [r1.key, r2.key]);
  const local: CacheStore = {
    get: async () => undefined,
    put: async () => undefined,
    previous: async () => undefined,
    forget: async () => [],
    gcHook: () => ({ name: 'x' }),
  };
  const view = buildCacheView(local, new Map([[r1.key, { record: r1, source: { name: 'src' } }]]));
  assert.equal((await view.get(r1.key))?.key, r1.key);
  assert.equal(await view.get(r2.key), undefined);
  assert.equal(view.sourceOf(r1.layer)?.source.name, 'src');
  assert.deepEqual([...view.used().keys()], [r1.key]);
  assert.equal(view.usedImported().length, 1);
});
