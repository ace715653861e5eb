// The library filters images as `wharf images --filter` and GET /images/json?filters= do:
// reference= patterns (path.Match, on repo and repo:tag) and dangling= (names without a tag; every name here has one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/api/index.js';
import { imageFilter } from '../../src/server/images.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

const suite = busyboxStoreForFile('wharf-api-images-filter-');

test('images(filter): reference patterns are alternatives, dangling selects untagged names', async () => {
  const store = await openStore(suite.env.root);
  await store.tag('busybox:test', 'app:1');
  await store.tag('busybox:test', 'app:latest');
  await store.tag('busybox:test', 'tools/lint:1');
  const names = async (f: Parameters<typeof store.images>[0]) => (await store.images(f)).entries.map((e) => e.name).sort();
  assert.deepEqual(await names({ reference: ['app:l*'] }), ['app:latest']);
  assert.deepEqual(await names({ reference: ['app:1', 'tools/*'] }), ['app:1', 'tools/lint:1']);
  // `*` stops at `/`, as Go's path.Match: tools/lint:1 is not among them.
  assert.deepEqual(await names({ reference: ['*'] }), ['app:1', 'app:latest', 'busybox:test']);
  assert.deepEqual(await names({ dangling: true }), []);
  assert.equal((await names({ dangling: false })).length, 4);
  assert.deepEqual(await names({ reference: ['tools/lint'], dangling: false }), ['tools/lint:1']);
  assert.equal((await names({})).length, 4);
});

test('GET /images/json filters read as docker sends them', () => {
  assert.deepEqual(imageFilter(new URLSearchParams('')), {});
  assert.deepEqual(imageFilter(new URLSearchParams('filters={"reference":{"app:*":true},"dangling":{"false":true}}')), { reference: ['app:*'], dangling: false });
  assert.deepEqual(imageFilter(new URLSearchParams('filters={"reference":["app"]}')), { reference: ['app'] });
  assert.throws(() => imageFilter(new URLSearchParams('filters={"label":{"x":true}}')), /filter label=x is not one wharf knows/);
});
