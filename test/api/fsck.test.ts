// The library checks the store as `wharf fsck` does, with no CLI in between: referenced blobs,
// unreferenced ones with what keeps them, and snapshots against the layer they were unpacked from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, openStore } from '../../src/api/index.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

const suite = busyboxStoreForFile('wharf-api-fsck-');

test('fsck(): clean store; an untagged build\'s layer is kept by the build cache; a tampered snapshot is named', async () => {
  const store = await openStore(suite.env.root);
  const clean = await store.fsck();
  assert.ok(clean.checked > 0);
  assert.deepEqual(clean.problems, []);
  assert.deepEqual(clean.snapshotProblems, []);

  const ctx = await suite.env.context('one', { Dockerfile: 'FROM busybox:test\nRUN echo hi > /hi\n' });
  await build({ root: suite.env.root, context: ctx });
  const after = await store.fsck();
  const kept = after.unreferenced.filter((d) => after.keptBy.get(d) === 'build-cache');
  assert.equal(kept.length, 1, 'the RUN layer is kept by its cache record');
  assert.equal(after.unreferenced.length - after.keptBy.size, 2, 'the untagged config and manifest are used by nothing');

  const snaps = join(suite.env.root, 'snapshots');
  const name = (await readdir(snaps)).find((n) => /^[0-9a-f]{64}$/.test(n))!;
  const file = join(snaps, name, 'layer');
  const record = await readFile(file, 'utf8');
  await writeFile(file, JSON.stringify({ ...JSON.parse(record), diffId: `sha256:${'0'.repeat(64)}` }));
  const tampered = await store.fsck();
  assert.equal(tampered.snapshotProblems.length, 1, JSON.stringify(tampered.snapshotProblems));
  assert.match(tampered.snapshotProblems[0]!.message, new RegExp(`sha256:${'0'.repeat(64)}`));
  await writeFile(file, record);
  assert.deepEqual((await store.fsck()).snapshotProblems, []);
});
