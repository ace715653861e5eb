// The library prunes what `wharf prune` prunes, with no CLI in between: build cache records by age
// and by size, then the blobs only they kept, and cache mounts on request. The server's
// POST /build/prune reads docker's query into the same options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, openStore, parseDuration } from '../../src/api/index.js';
import { buildPruneOptions } from '../../src/server/images.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

const suite = busyboxStoreForFile('wharf-api-prune-');

async function buildUntagged(name: string, kb: number, extra = ''): Promise<void> {
  const ctx = await suite.env.context(name, { Dockerfile: `FROM busybox:test\nRUN head -c ${kb * 1000} /dev/urandom > /${name}${extra}\n` });
  await build({ root: suite.env.root, context: ctx });
}

async function records(): Promise<string[]> {
  return (await readdir(join(suite.env.root, 'cache'))).filter((n) => n.endsWith('.json'));
}

test('prune() without options keeps the build cache; untilMs forgets older records and GC frees their layers', async () => {
  await buildUntagged('one', 100);
  await buildUntagged('two', 200);
  const store = await openStore(suite.env.root);
  const plain = await store.prune();
  assert.equal(plain.cacheRecordsForgotten, 0);
  assert.equal(plain.cacheMounts, undefined);
  assert.ok(plain.blobsRemoved >= 4, `configs and manifests of untagged builds go: ${plain.blobsRemoved}`);
  assert.equal((await records()).length, 2);
  const all = (await records()).sort();
  const file = join(suite.env.root, 'cache', all[0]!);
  const rec = JSON.parse(await readFile(file, 'utf8')) as { created: string };
  await writeFile(file, JSON.stringify({ ...rec, created: new Date(Date.now() - 2 * 86_400_000).toISOString() }));
  const aged = await store.prune({ untilMs: parseDuration('24h', 'until') });
  assert.equal(aged.cacheRecordsForgotten, 1);
  assert.equal(aged.blobsRemoved, 1, 'the forgotten record\'s layer goes with it');
  assert.ok(aged.bytesReclaimed > 90_000, String(aged.bytesReclaimed));
  assert.equal((await records()).length, 1);
});

test('prune() keepStorageBytes forgets the oldest records until the cache fits; cacheMounts reports the mounts', async () => {
  await buildUntagged('three', 300);
  await buildUntagged('four', 400);
  const before = await records();
  assert.equal(before.length, 3);
  const store = await openStore(suite.env.root);
  const kept = await store.prune({ keepStorageBytes: 450 * 1024, cacheMounts: true });
  assert.equal(kept.cacheRecordsForgotten, 2);
  assert.equal((await records()).length, 1);
  assert.deepEqual(kept.cacheMounts, { removed: [], bytesFreed: 0, inUse: 0 });
  const rest = await store.prune({ keepStorageBytes: 0 });
  assert.equal(rest.cacheRecordsForgotten, 1);
  assert.equal((await records()).length, 0);
});

test('POST /build/prune query reads as docker builder prune sends it', () => {
  assert.deepEqual(buildPruneOptions(new URLSearchParams('keep-storage=0&filters={}')), {});
  assert.deepEqual(buildPruneOptions(new URLSearchParams('keep-storage=1024&filters={"until":{"24h":true}}')), { untilMs: 86_400_000, keepStorageBytes: 1024 });
  assert.deepEqual(buildPruneOptions(new URLSearchParams('all=1&keep-storage=0')), { untilMs: 0 });
  assert.throws(() => buildPruneOptions(new URLSearchParams('filters={"label":{"x":true}}')), /filter label is not one wharf knows/);
  assert.throws(() => buildPruneOptions(new URLSearchParams('filters={"until":{"2d":true}}')), /"2d" is not a duration/);
});
