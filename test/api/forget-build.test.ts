// The library makes the next build of a context start cold, as `wharf bench --mode cold` does:
// the steps' cache records and their snapshots go, the base image stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { build, forgetBuild } from '../../src/api/index.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

const suite = busyboxStoreForFile('wharf-api-forget-');

test('forgetBuild(): the next build runs every step again; the base stays', async () => {
  const ctx = await suite.env.context('f', { Dockerfile: 'FROM busybox:test\nCOPY a.txt /a\nRUN cat /a > /b\n', 'a.txt': 'x' });
  const first = await build({ root: suite.env.root, context: ctx });
  const again = await build({ root: suite.env.root, context: ctx });
  assert.deepEqual(again.steps.map((s) => s.cached), [true, true, true]);
  const snapsBefore = (await readdir(join(suite.env.root, 'snapshots'))).length;
  const forgotten = await forgetBuild(suite.env.root, { cacheKeys: first.steps.map((s) => s.cacheKey), contextDir: ctx });
  assert.equal(forgotten, 2, 'COPY and RUN had records; FROM has none');
  assert.ok((await readdir(join(suite.env.root, 'snapshots'))).length < snapsBefore, 'their snapshots went');
  const cold = await build({ root: suite.env.root, context: ctx });
  assert.deepEqual(cold.steps.map((s) => s.cached), [true, false, false], 'FROM is still there; COPY and RUN run');
});
