import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { openStore, parseReference, type Reference, type Store, acquireLock, tryAcquireLock } from '../../src/store/index.js';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME } from '../../src/store/oci-index.js';
import { sha256Of, type Sha256 } from '../../src/hash/index.js';
import { writeTinyImage } from '../helpers/tiny-image.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-store-'));
});
after(() => rm(dir, { recursive: true, force: true }));

let n = 0;
const fresh = (): Promise<Store> => openStore(join(dir, `root${n++}`));
const ref = (s: string): Reference => {
  const r = parseReference(s);
  assert.ok(r.ok);
  return r.value;
};

test('opening creates an OCI layout: oci-layout, empty index.json, blobs/sha256', async () => {
  const s = await fresh();
  assert.deepEqual(JSON.parse(await readFile(join(s.root, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const idx = JSON.parse(await readFile(join(s.root, 'index.json'), 'utf8'));
  assert.equal(idx.schemaVersion, 2);
  assert.deepEqual(idx.manifests, []);
  assert.ok((await stat(join(s.root, 'blobs', 'sha256'))).isDirectory());
});

test('blobs are named by their digest, written twice harmlessly, read back verified', async () => {
  const s = await fresh();
  const a = await s.putBytes('hello');
  assert.equal(a.digest, sha256Of('hello'));
  assert.equal(a.size, 5);
  const again = await s.putStream(Readable.from([Buffer.from('hel'), Buffer.from('lo')]));
  assert.deepEqual(again, a);
  assert.equal(await s.stat(a.digest), 5);
  assert.equal((await s.readBytes(a.digest, 5)).toString(), 'hello');
  assert.deepEqual(await readdir(s.tmpDir), [], 'no temp files left behind');
  await assert.rejects(s.readBytes(a.digest, 6), /descriptor says 6/);
  await assert.rejects(s.putBytes('other', a.digest), /does not match its expected digest/);
  assert.deepEqual(await readdir(s.tmpDir), []);
});

test('corrupt or missing blobs fail reads with a store error', async () => {
  const s = await fresh();
  const a = await s.putBytes('precious');
  await writeFile(s.path(a.digest), 'tampered');
  await assert.rejects(s.readBytes(a.digest), (e: Error & { code?: string }) => e.code === 'store.blob-corrupt');
  const chunks: Buffer[] = [];
  await assert.rejects(
    (async () => {
      for await (const c of s.openRead(a.digest)) chunks.push(c as Buffer);
    })(),
    /corrupt/,
  );
  await assert.rejects(s.readBytes(sha256Of('never stored')), (e: Error & { code?: string }) => e.code === 'store.blob-missing');
  assert.equal(await s.has(sha256Of('never stored')), false);
});

test('a verifying stream passes intact content through', async () => {
  const s = await fresh();
  const big = Buffer.alloc(300_000, 7);
  const a = await s.putBytes(big);
  const chunks: Buffer[] = [];
  for await (const c of s.openRead(a.digest, big.length)) chunks.push(c as Buffer);
  assert.ok(Buffer.concat(chunks).equals(big));
});

test('tags: both annotations, move in place, remove, resolve by tag and digest', async () => {
  const s = await fresh();
  const one = await writeTinyImage(s, 'app:1');
  const idx = JSON.parse(await readFile(join(s.root, 'index.json'), 'utf8'));
  assert.equal(idx.manifests.length, 1);
  assert.equal(idx.manifests[0].annotations[ANNOTATION_REF_NAME], 'app:1');
  assert.equal(idx.manifests[0].annotations[ANNOTATION_IMAGE_NAME], 'docker.io/library/app:1');
  assert.equal(idx.manifests[0].digest, one.manifestDescriptor.digest);

  const two = await writeTinyImage(s, 'app:1', { label: 'second' });
  assert.notEqual(two.manifestDescriptor.digest, one.manifestDescriptor.digest);
  const tags = await s.tags();
  assert.deepEqual(tags.map((t) => t.name), ['docker.io/library/app:1']);
  assert.equal(tags[0]!.descriptor.digest, two.manifestDescriptor.digest);
  assert.equal((await s.resolve(ref('app:1')))?.digest, two.manifestDescriptor.digest);
  assert.equal((await s.resolve(ref(`app@${one.manifestDescriptor.digest}`)))?.digest, one.manifestDescriptor.digest, 'an untagged manifest still resolves by digest');
  assert.equal(await s.resolve(ref('app:2')), undefined);

  assert.equal((await s.removeTag(ref('app:1')))?.digest, two.manifestDescriptor.digest);
  assert.equal(await s.removeTag(ref('app:1')), undefined);
  assert.deepEqual(await s.tags(), []);
  await assert.rejects(s.setTag(ref('x:1'), { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256Of('nope'), size: 1 }), /not in/);
});

test('tagging the image a tag already names leaves index.json alone, even while the lock is held', async () => {
  const s = await fresh();
  const a = (await writeTinyImage(s, 'a:1')).manifestDescriptor;
  const b = (await writeTinyImage(s, 'b:1', { label: 'b' })).manifestDescriptor;
  assert.notEqual(a.digest, b.digest);
  await s.setTag(ref('x:1'), a);
  const before = await stat(join(s.root, 'index.json'));
  const held = await acquireLock(join(s.root, 'lock'), s.tmpDir);
  try {
    // Waiting for the lock would time out: the unchanged tag must not need it.
    await s.setTag(ref('x:1'), a);
  } finally {
    await held.release();
  }
  const after = await stat(join(s.root, 'index.json'));
  assert.equal(after.ino, before.ino, 'index.json was replaced');
  await s.setTag(ref('x:1'), b);
  assert.notEqual((await stat(join(s.root, 'index.json'))).ino, before.ino);
  assert.equal((await s.resolve(ref('x:1')))?.digest, b.digest);
});

test('a digest that is not sha256 hex never names a path outside blobs/', async () => {
  const s = await fresh();
  await writeFile(join(s.root, 'outside'), 'secret');
  const evil = 'sha256:../../outside' as Sha256;
  assert.equal(await s.has(evil), false);
  await assert.rejects(s.readBytes(evil));
  assert.throws(() => s.path(evil), /not a sha256 digest/);
});

test('gc removes only unreachable blobs, reports bytes, and consults hooks', async () => {
  const root = join(dir, `root${n++}`);
  const extra = await (await openStore(root)).putBytes('kept by a hook');
  let collectedWith: ReadonlySet<string> | undefined;
  const s = await openStore(root, {
    gcHooks: [{ name: 'test', roots: async () => [{ mediaType: 'application/octet-stream', ...extra }], collect: async (live) => ((collectedWith = live), 100) }],
  });
  const img = await writeTinyImage(s, 'keep:1');
  const garbage = await s.putBytes('garbage!');
  const r = await s.gc();
  assert.equal(r.blobsRemoved, 1);
  assert.equal(r.bytesReclaimed, garbage.size + 100);
  assert.equal(await s.has(garbage.digest), false);
  assert.equal(await s.has(extra.digest), true);
  assert.ok(collectedWith?.has(img.configDescriptor.digest));
  for (const l of img.manifest.layers) assert.ok(await s.has(l.digest));
  assert.deepEqual((await s.fsck()).problems, []);

  await s.removeTag(ref('keep:1'));
  const r2 = await s.gc();
  assert.equal(r2.blobsRemoved, 3, 'manifest, config and layer go with the last tag');
});

test('fsck reports missing, corrupt and unreferenced blobs', async () => {
  const s = await fresh();
  const img = await writeTinyImage(s, 'app:1');
  const loose = await s.putBytes('loose');
  let r = await s.fsck();
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.unreferenced, [loose.digest]);
  assert.equal(r.checked, 3);
  await writeFile(s.path(img.configDescriptor.digest), Buffer.alloc(img.configDescriptor.size, 32));
  await rm(s.path(img.manifest.layers[0]!.digest));
  r = await s.fsck();
  assert.deepEqual(r.problems.map((p) => [p.kind, p.digest]).sort(), [
    ['corrupt', img.configDescriptor.digest],
    ['missing', img.manifest.layers[0]!.digest],
  ].sort());
  await writeFile(s.path(img.manifestDescriptor.digest), Buffer.alloc(img.manifestDescriptor.size, 32));
  await assert.rejects(s.gc(), /cannot collect garbage/, 'gc refuses to delete with a damaged manifest graph');
  assert.ok(await s.has(loose.digest));
});

test('temp files of dead processes are swept at open, live ones are kept', async () => {
  const root = join(dir, `root${n++}`);
  await openStore(root);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  await writeFile(join(root, 'tmp', `${dead}.blob.abc`), 'half a blob');
  await mkdir(join(root, 'tmp', `${dead}.layer.def`));
  await writeFile(join(root, 'tmp', `${process.pid}.blob.mine`), 'in flight');
  await openStore(root);
  assert.deepEqual(await readdir(join(root, 'tmp')), [`${process.pid}.blob.mine`]);
});

test('a lock left by a dead process is taken over at once; a live holder is waited for', async () => {
  const s = await fresh();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  await writeFile(join(s.root, 'lock'), `${dead} 1 deadbeef\n`);
  const t0 = Date.now();
  await s.setTag(ref('x:1'), (await writeTinyImage(s, 'y:1')).manifestDescriptor);
  assert.ok(Date.now() - t0 < 2000);

  const held = await acquireLock(join(s.root, 'lock'), s.tmpDir);
  await assert.rejects(acquireLock(join(s.root, 'lock'), s.tmpDir, { timeoutMs: 200 }), /locked by another wharf process/);
  let got = false;
  const waiting = acquireLock(join(s.root, 'lock'), s.tmpDir).then((l) => ((got = true), l));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(got, false);
  await held.release();
  await (await waiting).release();
  assert.equal(got, true);
});

test('leases keep a build\'s blobs through GC until released; a dead process\'s lease lapses', async () => {
  const s = await fresh();
  const old = new Date(Date.now() - 3_600_000);
  const lease = await s.lease();
  const written = await lease.blobs.putBytes('layer of a build in progress');
  await utimes(s.path(written.digest), old, old);
  const reused = await s.putBytes('base layer reused by the build');
  await utimes(s.path(reused.digest), old, old);
  await lease.add(reused.digest);
  const stale = await s.putBytes('old garbage');
  await utimes(s.path(stale.digest), old, old);
  const young = await s.putBytes('just written by someone without a lease');

  let r = await s.gc();
  assert.equal(r.blobsRemoved, 1);
  assert.equal(await s.has(stale.digest), false, 'old unleased garbage goes');
  assert.ok(await s.has(written.digest), 'blobs written through the lease stay');
  assert.ok(await s.has(reused.digest), 'blobs added to the lease stay');
  assert.ok(await s.has(young.digest), 'fresh blobs are spared while a lease is live');

  await lease.release();
  r = await s.gc();
  assert.equal(r.blobsRemoved, 3);

  const orphan = await s.putBytes('leased by a process that died');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  await writeFile(join(s.tmpDir, `${dead}.lease.x`), orphan.digest + '\n');
  r = await s.gc();
  assert.equal(await s.has(orphan.digest), false);
  assert.equal(r.tempRemoved, 1);
});

test('tryAcquireLock gives up at once on a live holder, takes a dead one\'s lock; a waiting acquire stops on abort', async () => {
  const s = await fresh();
  const path = join(s.root, 'other.lock');
  const held = await acquireLock(path, s.tmpDir);
  assert.equal(await tryAcquireLock(path, s.tmpDir), undefined);
  const ac = new AbortController();
  const waiting = acquireLock(path, s.tmpDir, { timeoutMs: Infinity, signal: ac.signal });
  ac.abort(new Error('stop waiting'));
  await assert.rejects(waiting, /stop waiting/);
  await held.release();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  await writeFile(path, `${dead} 1 deadbeef\n`);
  const mine = await tryAcquireLock(path, s.tmpDir);
  assert.ok(mine);
  await mine.release();
  assert.equal(await tryAcquireLock(path, s.tmpDir).then((l) => l?.release().then(() => 'free')), 'free');
});

test('a blob written in many chunks (writes behind, several in flight) lands whole, in order, under its digest', async () => {
  const store = await fresh();
  const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(256 * 1024 + i, i));
  const w = await store.writer();
  for (const c of chunks) await w.write(c);
  const all = Buffer.concat(chunks);
  const { digest, size } = await w.commit();
  assert.equal(digest, sha256Of(all));
  assert.equal(size, all.length);
  assert.ok((await readFile(store.path(digest))).equals(all));
  // An aborted writer leaves no temp file, even with writes still behind.
  const a = await store.writer();
  for (const c of chunks.slice(0, 8)) await a.write(c);
  await a.abort();
  assert.deepEqual((await readdir(join(store.root, 'tmp'))).filter((f) => f.includes('.blob.')), []);
});

test('a stored blob put again is not rewritten, only freshened for GC', async () => {
  const store = await fresh();
  const first = await store.putBytes('same bytes');
  const path = store.path(first.digest);
  await utimes(path, new Date(1000), new Date(1000));
  const again = await store.putBytes('same bytes');
  assert.deepEqual(again, first);
  assert.ok((await stat(path)).mtimeMs > 1_000_000, 'the mtime is fresh for GC');
  assert.equal(await readFile(path, 'utf8'), 'same bytes');
});

test('putBytesAll stores several blobs as putBytes does, one already there only freshened; a wrong digest stores none', async () => {
  const store = await fresh();
  const kept = await store.putBytes('already here');
  await utimes(store.path(kept.digest), new Date(1000), new Date(1000));
  const big = Buffer.alloc(300 * 1024, 9); // past the small-blob path
  const items = ['config bytes', Buffer.from('manifest bytes'), 'already here', big];
  const put = await store.putBytesAll!(items);
  assert.deepEqual(put, items.map((d) => ({ digest: sha256Of(d), size: Buffer.byteLength(d) })));
  for (const [i, d] of items.entries()) assert.deepEqual(await store.readBytes(put[i]!.digest), Buffer.from(d));
  assert.ok((await stat(store.path(kept.digest))).mtimeMs > 1_000_000, 'the stored one was freshened for GC');
  const bad = `sha256:${'0'.repeat(64)}` as Sha256;
  await assert.rejects(store.putBytesAll!(['x', 'y'], [undefined, bad]), /does not match its expected digest/);
  assert.equal(await store.has(sha256Of('x')), false, 'nothing of a refused batch was stored');
  assert.deepEqual((await readdir(join(store.root, 'tmp'))).filter((f) => f.includes('.blob.')), [], 'and no temp file is left');
});

test('a download a dead process left empty (killed before its first write) is taken over, not refused', async () => {
  const s = await fresh();
  const data = Buffer.from('the whole blob, downloaded again');
  const digest = sha256Of(data);
  await mkdir(join(s.root, 'partial'), { recursive: true });
  // pid 2^22 + 1 is above Linux's pid_max: no live process owns it.
  await writeFile(join(s.root, 'partial', `${digest.slice('sha256:'.length)}.4194305.0123456789abcdef`), '');
  const w = await s.resumableWriter!(digest);
  assert.equal(w.offset, 0);
  await w.write(data);
  assert.equal((await w.commit(digest)).digest, digest);
  assert.deepEqual(await readdir(join(s.root, 'partial')), [], 'the empty file became the blob');
  assert.deepEqual(await s.readBytes(digest), data);
});
