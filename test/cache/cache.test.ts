import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE_KEY_VERSION, type KeyMaterial, slotOf } from '../../src/cache/key.js';
import { cacheKey, explainMiss, openBuildHistory, openCache } from '../../src/cache/index.js';
import { statSync } from 'node:fs';
import { sha256Hex, sha256Of, type Sha256 } from '../../src/hash/index.js';

const base: KeyMaterial = { v: CACHE_KEY_VERSION, parent: 'scratch', op: { kind: 'RUN', command: { shell: 'make' } }, exec: { env: ['A=1'] }, platform: 'linux/amd64' };
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('every field of the key material changes the key; key order does not', () => {
  const k = cacheKey(base);
  assert.match(k, /^sha256:[0-9a-f]{64}$/);
  for (const changed of [
    { ...base, parent: 'sha256:' + '1'.repeat(64) },
    { ...base, op: { kind: 'RUN', command: { shell: 'make all' } } },
    { ...base, exec: { env: ['A=2'] } },
    { ...base, inputs: { tree: 'x' } },
    { ...base, platform: 'linux/arm64' },
  ]) {
    assert.notEqual(cacheKey(changed), k);
    assert.ok(explainMiss(changed, base).length === 1);
  }
  const reordered = { platform: base.platform, exec: base.exec, op: base.op, parent: base.parent, v: base.v } as KeyMaterial;
  assert.equal(cacheKey(reordered), k);
});

test('records round-trip, vanish with their blob, and name their layers as GC roots', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-cache-'));
  dirs.push(root);
  const present = new Set<Sha256>();
  const cache = openCache(root, { has: async (d) => present.has(d) });
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256Of('layer'), size: 5 };
  const key = cacheKey(base);
  assert.equal(await cache.get(key), undefined);
  await cache.put({ key, layer, diffId: sha256Of('tar'), material: base, created: '2026-01-01T00:00:00Z' });
  assert.equal(await cache.get(key), undefined, 'a record whose blob is gone is a miss');
  present.add(layer.digest);
  const rec = await cache.get(key);
  assert.deepEqual(rec?.material, base);
  assert.deepEqual([...(await cache.gcHook().roots!())].map((d) => d.digest), [layer.digest]);
  // A torn or foreign file is a miss, never a crash.
  await writeFile(join(root, 'cache', 'junk.json'), '{');
  assert.equal((await cache.gcHook().roots!()) instanceof Array, true);
  assert.ok((await readdir(join(root, 'cache'))).every((n) => !n.includes('.tmp')));
  // Records are not fsynced: what a crash can leave of one (an empty or zero-filled file, an empty
  // slot) is a miss, and the instruction's previous record is simply unknown.
  const otherMaterial: KeyMaterial = { ...base, op: { kind: 'RUN', command: { shell: 'other' } } };
  const other = cacheKey(otherMaterial);
  await cache.put({ key: other, layer, diffId: sha256Of('tar'), material: otherMaterial, created: '2026-01-01T00:00:00Z' });
  assert.ok(await cache.get(other));
  assert.equal((await cache.previous(otherMaterial))?.key, other);
  await writeFile(join(root, 'cache', 'slots', sha256Hex(slotOf(otherMaterial))), '');
  assert.equal(await cache.previous(otherMaterial), undefined, 'an empty slot: no previous record');
  await writeFile(join(root, 'cache', `${sha256Hex(other)}.json`), '');
  assert.equal(await cache.get(other), undefined);
  await writeFile(join(root, 'cache', `${sha256Hex(other)}.json`), Buffer.alloc(64));
  assert.equal(await cache.get(other), undefined);
});

test('putMany stores many records at once, each as put would (record and slot), with no temp file left', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-cache-'));
  dirs.push(root);
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256Of('layer'), size: 5 };
  const cache = openCache(root, { has: async (d) => d === layer.digest });
  const materials: KeyMaterial[] = Array.from({ length: 40 }, (_, i) => ({ ...base, op: { kind: 'RUN', command: { shell: `step ${i}` } } }));
  await cache.putMany!(materials.map((m) => ({ key: cacheKey(m), layer, diffId: sha256Of('tar'), material: m, created: '2026-01-01T00:00:00Z' })));
  for (const m of materials) {
    assert.equal((await cache.get(cacheKey(m)))?.key, cacheKey(m));
    assert.equal((await cache.previous(m))?.key, cacheKey(m));
  }
  const names = [...(await readdir(join(root, 'cache'))), ...(await readdir(join(root, 'cache', 'slots')))];
  assert.equal(names.length, 40 + 1 + 40, names.join(' '));
});

test('the build history keeps its file when a build saves the steps it read (a no-op), and replaces it otherwise', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-history-'));
  dirs.push(root);
  const id = { dockerfile: '/ctx/Dockerfile', context: '/ctx', target: '' };
  const steps = [{ stage: 0, index: 1, instruction: 'RUN make', cacheKey: 'sha256:' + '1'.repeat(64), line: 2 }];
  openBuildHistory(root).save(id, steps);
  const [name] = await readdir(join(root, 'cache', 'builds'));
  const path = join(root, 'cache', 'builds', name!);
  const first = statSync(path).ino;
  // The next build, a process of its own: reads the history, then saves the same steps.
  const again = openBuildHistory(root);
  assert.deepEqual(again.last(id), steps);
  again.save(id, steps);
  assert.equal(statSync(path).ino, first, 'the same steps: the file is left as it is');
  again.save(id, [{ ...steps[0]!, cacheKey: 'sha256:' + '2'.repeat(64) }]);
  assert.notEqual(statSync(path).ino, first, 'other steps: replaced');
  assert.equal(openBuildHistory(root).last(id)?.[0]?.cacheKey, 'sha256:' + '2'.repeat(64));
});
