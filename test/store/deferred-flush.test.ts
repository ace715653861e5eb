// putBytesDeferred (src/store/blobs.ts): a build's small layer waits in its temp file until the
// next blob is stored, so a build's last layer is flushed with its image's config and manifest.
// What must hold: such a blob is absent until then (never a name without its bytes), the next
// put or settle() brings it in, and a failed build's last layer is still cached.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.js';
import { sha256Of } from '../../src/hash/index.js';
import { cachedFlags, wharfBuildEnv } from '../helpers/wharf-build.js';

const dir = mkdtempSync(join(tmpdir(), 'wharf-deferred-flush-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const temps = (root: string) => readdirSync(join(root, 'tmp')).filter((f) => f.includes('.blob.'));

test('a deferred blob is leased at once and absent until the next put or settle(), which bring it in with its bytes', async () => {
  const lease = await (await openStore(join(dir, 'root'))).lease();
  const store = lease.blobs;
  const first = await store.putBytesDeferred!('first layer');
  assert.equal(first.digest, sha256Of('first layer'));
  assert.equal(await store.has(first.digest), false, 'not in blobs/ before its flush');
  assert.equal(temps(store.root).length, 1, 'its bytes wait in a temp file');
  const leaseFile = readdirSync(join(store.root, 'tmp')).find((f) => f.startsWith(`${process.pid}.lease.`));
  assert.ok(leaseFile && readFileSync(join(store.root, 'tmp', leaseFile), 'utf8').includes(first.digest), 'GC keeps it from the start (the lease names it)');
  const second = await store.putBytesDeferred!('second layer');
  assert.equal(await store.has(first.digest), true, 'the next deferred put flushed the first');
  assert.equal(await store.has(second.digest), false, 'and waits itself');
  await store.putBytesAll!(['config']);
  assert.equal((await store.readBytes(second.digest)).toString(), 'second layer', 'flushed with the next blob stored');
  const third = await store.putBytesDeferred!('third layer');
  await store.settle!();
  assert.equal((await store.readBytes(third.digest)).toString(), 'third layer', 'settle() brings the rest in');
  assert.deepEqual(temps(store.root), [], 'no temp file is left');
  const again = await store.putBytesDeferred!('third layer');
  assert.deepEqual(again, third, 'a blob already stored is not written again');
  assert.deepEqual(temps(store.root), []);
  await lease.release();
});

test("a failed build's last layer is in blobs/ and its step cached for the next build", async () => {
  const env = wharfBuildEnv(dir);
  const ctx = await env.context('ctx', { Dockerfile: 'FROM scratch\nCOPY a /a\nCOPY b /b\n', a: 'kept\n' });
  const failed = await env.build(ctx, ['-t', 'deferred:1']);
  assert.notEqual(failed.status, 0, 'b is missing: the second COPY fails');
  assert.deepEqual(temps(env.root), [], "the first COPY's layer is not left in a temp file");
  await env.context('ctx', { Dockerfile: 'FROM scratch\nCOPY a /a\nCOPY b /b\n', a: 'kept\n', b: 'now here\n' });
  const built = await env.build(ctx, ['-t', 'deferred:1']);
  assert.equal(built.status, 0, built.stderr);
  assert.deepEqual(cachedFlags(built.meta!), [true, true, false], "FROM scratch, then the failed build's COPY of a from the cache");
  assert.ok(existsSync(join(env.root, 'index.json')));
});
