// `openStore(root).remove(name)`: docker's image delete in the library (what `wharf rmi` and the
// server's DELETE /images/{name} call): untag, and once no name is left on the image, collect its
// blobs and report its ID as deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, familiarName, isUserError, openStore } from '../../src/api/index.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

const suite = busyboxStoreForFile('wharf-api-remove-');

test('remove untags; the last name deletes the image and frees its blobs; an ID with two names needs force', async () => {
  const ctx = await suite.env.context('rm', { Dockerfile: 'FROM busybox:test\nRUN echo to-be-removed > /r\n' });
  const built = await build({ root: suite.env.root, context: ctx, tags: ['rm:1', 'rm:2'] });
  const store = await openStore(suite.env.root);

  const first = await store.remove('rm:1');
  assert.deepEqual(first.untagged.map((r) => familiarName(r)), ['rm:1']);
  assert.deepEqual(first.deleted, [], 'rm:2 still names it');
  assert.ok(await store.store.has(built.image.manifestDescriptor.digest), 'its manifest stays');

  const last = await store.remove('rm:2');
  assert.deepEqual(last.untagged.map((r) => familiarName(r)), ['rm:2']);
  assert.deepEqual(last.deleted, [built.imageId]);
  assert.ok(last.blobsRemoved >= 2 && last.bytesReclaimed > 0, JSON.stringify(last));
  assert.equal(await store.store.has(built.image.manifestDescriptor.digest), false, 'the manifest is collected');
  assert.deepEqual((await store.fsck()).problems, []);

  const again = await build({ root: suite.env.root, context: ctx, tags: ['rm:3', 'rm:4'] });
  await assert.rejects(store.remove(again.imageId.slice(7, 19)), (e: unknown) => isUserError(e) && e.code === 'image.rmi-conflict');
  const forced = await store.remove(again.imageId.slice(7, 19), { force: true });
  assert.deepEqual(forced.untagged.map((r) => familiarName(r)).sort(), ['rm:3', 'rm:4']);
  assert.deepEqual(forced.deleted, [again.imageId]);
  await assert.rejects(store.remove('rm:3'), (e: unknown) => isUserError(e) && /not found/.test(e.message));
});
