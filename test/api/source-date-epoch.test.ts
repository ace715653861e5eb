// build() applies the build arg SOURCE_DATE_EPOCH as `wharf build --build-arg` does (it wins over
// the sourceDateEpoch option), so the server's `docker build --build-arg` gets it too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, buildSourceDateEpoch, openStore } from '../../src/api/index.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

const suite = busyboxStoreForFile('wharf-api-sde-');

test('build(): the SOURCE_DATE_EPOCH build arg dates the image, over the option; a bad one is refused naming it', async () => {
  const ctx = await suite.env.context('sde', { Dockerfile: 'FROM busybox:test\nARG SOURCE_DATE_EPOCH\nRUN echo hi > /hi\n' });
  const r = await build({ root: suite.env.root, context: ctx, tags: ['sde:1'], buildArgs: { SOURCE_DATE_EPOCH: '1700000000' }, sourceDateEpoch: 1 });
  const { image } = await (await openStore(suite.env.root)).find('sde:1');
  assert.equal(image.id, r.imageId);
  assert.equal(Date.parse(image.config.created!), 1_700_000_000_000);
  await assert.rejects(build({ root: suite.env.root, context: ctx, buildArgs: new Map([['SOURCE_DATE_EPOCH', 'yesterday']]) }), /--build-arg SOURCE_DATE_EPOCH=yesterday is not a number of seconds/);
  // Without the arg, the fallback is the answer, and a thunk is only called then.
  assert.equal(buildSourceDateEpoch({}, 7), 7);
  assert.equal(buildSourceDateEpoch({ SOURCE_DATE_EPOCH: '9' }, () => assert.fail('not read')), 9);
});
