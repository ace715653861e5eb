/**
 * Layer writer: every entry kind round-trips through our applier and through GNU tar, the stored
 * blob and diff_id are the sha256 of what they claim, and the output is deterministic.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { applyLayer, layerTarStream, writeLayer, writeLayerFromTar } from '../../src/layer/index.js';
import { FsBlobStore } from '../../src/store/index.js';
import type { LayerWriteOptions } from '../../src/layer/types.js';
import { testBlobStore } from './test-blob-store.js';
import { listTree } from './tree.js';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'wharf-layer-write-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const LONG_DIR = 'a-directory-name-that-is-fairly-long/'.repeat(5).slice(0, -1);
const LONG_FILE = `${LONG_DIR}/${'f'.repeat(120)}.txt`;
const CAPABILITY = '0x0100000200040000000000000000000000000000'; // v2, cap_net_bind_service+ep

/** A tree with every entry kind a layer carries; `order` flips creation order, `mtime` varies times. */
async function buildTree(dir: string, opts: { reverse: boolean; mtime: number }): Promise<void> {
  const steps: Array<() => Promise<unknown>> = [
    () => mkdir(join(dir, 'bin'), { recursive: true }),
    () => mkdir(join(dir, 'dev'), { recursive: true }),
    () => mkdir(join(dir, LONG_DIR), { recursive: true }),
    () => mkdir(join(dir, 'empty-dir', 'nested'), { recursive: true, mode: 0o750 }),
  ];
  const files: Array<() => Promise<unknown>> = [
    () => writeFile(join(dir, 'bin', 'tool'), 'tool binary', { mode: 0o4755 }),
    () => writeFile(join(dir, 'big.bin'), Buffer.alloc(1_500_000, 7)),
    () => writeFile(join(dir, 'empty'), ''),
    () => writeFile(join(dir, LONG_FILE), 'long name'),
    () => symlink('bin/tool', join(dir, 'link-to-tool')),
    () => symlink(`/${'x'.repeat(150)}`, join(dir, 'long-symlink')),
  ];
  for (const s of opts.reverse ? [...steps] : steps) await s();
  for (const s of opts.reverse ? [...files].reverse() : files) await s();
  await link(join(dir, 'bin', 'tool'), join(dir, 'hardlink-to-tool'));
  execFileSync('mknod', ['-m', '0600', join(dir, 'dev', 'null-ish'), 'c', '1', '3']);
  execFileSync('mknod', ['-m', '0600', join(dir, 'dev', 'loop-ish'), 'b', '7', '0']);
  execFileSync('mknod', ['-m', '0644', join(dir, 'fifo'), 'p']);
  execFileSync('setfattr', ['-n', 'user.note', '-v', 'hello', join(dir, 'empty')]);
  execFileSync('setfattr', ['-n', 'security.capability', '-v', CAPABILITY, join(dir, 'bin', 'tool')]);
  execFileSync('chown', ['-h', '1234:5678', join(dir, 'empty'), join(dir, 'link-to-tool')]);
  execFileSync('chown', ['3000000:3000001', join(dir, 'big.bin')]); // beyond ustar's 7 octal digits
  // `find -exec touch` sets every mtime to the varied instant (symlinks too, with -h).
  execFileSync('find', [dir, '-exec', 'touch', '-h', '-d', `@${opts.mtime}`, '{}', '+']);
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function write(src: string, opts: LayerWriteOptions) {
  const blobs = testBlobStore(join(tmp, 'store'));
  const res = await writeLayer(src, opts, blobs);
  return { res, blob: await readFile(blobs.path(res.digest)), blobPath: blobs.path(res.digest) };
}

test('gzip layer: digests, GNU tar listing, round trip through our applier and GNU tar', async () => {
  const src = join(tmp, 'src');
  await buildTree(src, { reverse: false, mtime: 1_700_000_000 });
  const { res, blob, blobPath } = await write(src, { form: 'plain', compression: 'gzip', sourceDateEpoch: 1_650_000_000 });
  assert.equal(res.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  assert.equal(res.digest, sha(blob));
  assert.equal(res.size, blob.length);
  const tarBytes = gunzipSync(blob);
  assert.equal(res.diffId, sha(tarBytes));

  const listing = execFileSync('tar', ['-tvzf', blobPath, '--numeric-owner', '--full-time']).toString();
  const names = execFileSync('tar', ['-tzf', blobPath]).toString().trim().split('\n');
  assert.equal(names[0], 'a-directory-name-that-is-fairly-long/');
  assert.ok(names.indexOf(LONG_FILE) < names.indexOf('big.bin'), 'depth-first, siblings sorted');
  assert.ok(names.indexOf('bin/') < names.indexOf('bin/tool'));
  assert.ok(names.includes(LONG_FILE), 'long name survives via PAX');
  assert.match(listing, /hardlink-to-tool link to bin\/tool/);
  assert.match(listing, /link-to-tool -> bin\/tool/);
  assert.match(listing, /^crw------- 0\/0 +1,3 .* dev\/null-ish$/m);
  assert.match(listing, /^brw------- 0\/0 +7,0 .* dev\/loop-ish$/m);
  assert.match(listing, /^prw-r--r-- 0\/0 .* fifo$/m);
  assert.match(listing, /^-rw-r--r-- 1234\/5678 .*2022-04-15 05:20:00 empty$/m, 'numeric owner, clamped mtime');
  assert.match(listing, /3000000\/3000001 +1500000 /, 'big ids via PAX');
  assert.ok(!tarBytes.includes(Buffer.from('atime')) && !tarBytes.includes(Buffer.from('ctime')));
  assert.ok(tarBytes.includes(Buffer.from('SCHILY.xattr.security.capability=')));

  for (const [name, extract] of [
    ['ours', (dst: string) => applyLayer(createReadStream(blobPath), dst, { form: 'plain' })],
    ['gnu', async (dst: string) => void execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpzf', blobPath, '-C', dst])],
  ] as const) {
    const dst = join(tmp, `dst-${name}`);
    await mkdir(dst);
    await extract(dst);
    assert.deepEqual(await listTree(dst), await listTree(src), name);
    const tool = await lstat(join(dst, 'bin', 'tool'));
    assert.equal(tool.mode & 0o7777, 0o4755, `${name}: setuid kept`);
    assert.equal(tool.ino, (await lstat(join(dst, 'hardlink-to-tool'))).ino, `${name}: hard link`);
    assert.equal(await readlink(join(dst, 'long-symlink')), `/${'x'.repeat(150)}`);
    assert.equal((await readFile(join(dst, 'big.bin'))).length, 1_500_000);
    const empty = await lstat(join(dst, 'empty'));
    assert.deepEqual([empty.uid, empty.gid, empty.mtimeMs], [1234, 5678, 1_650_000_000_000], name);
    const big = await lstat(join(dst, 'big.bin'));
    assert.deepEqual([big.uid, big.gid], [3000000, 3000001], name);
    assert.equal((await lstat(join(dst, 'dev', 'null-ish'))).rdev, (await lstat(join(src, 'dev', 'null-ish'))).rdev);
    assert.ok((await lstat(join(dst, 'fifo'))).isFIFO());
    assert.equal((await lstat(join(dst, 'empty-dir'))).mtimeMs, 1_650_000_000_000, `${name}: dir mtime`);
    const caps = execFileSync('getfattr', ['-n', 'security.capability', '-e', 'hex', '--absolute-names', join(dst, 'bin', 'tool')]).toString();
    assert.ok(caps.includes(CAPABILITY), `${name}: capability xattr`);
    assert.ok(execFileSync('getfattr', ['-d', '--absolute-names', join(dst, 'empty')]).toString().includes('user.note="hello"'));
  }
});

test('zstd and uncompressed layers: media types, same diff_id, applier detects the format', async () => {
  const src = join(tmp, 'src-z');
  await buildTree(src, { reverse: false, mtime: 1_700_000_000 });
  const gz = await write(src, { form: 'plain', compression: 'gzip' });
  const zs = await write(src, { form: 'plain', compression: 'zstd' });
  const raw = await write(src, { form: 'plain', compression: 'none' });
  assert.equal(zs.res.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
  assert.equal(raw.res.mediaType, 'application/vnd.oci.image.layer.v1.tar');
  assert.equal(zs.blob.readUInt32LE(0), 0xfd2fb528);
  assert.equal(zs.res.diffId, gz.res.diffId);
  assert.equal(raw.res.diffId, gz.res.diffId);
  assert.equal(raw.res.digest, raw.res.diffId);
  assert.equal(sha(execFileSync('zstd', ['-d', '-c', zs.blobPath], { maxBuffer: 1 << 26 })), zs.res.diffId);
  for (const b of [zs, raw]) {
    const dst = await mkdtemp(join(tmp, 'dst-'));
    await applyLayer(createReadStream(b.blobPath), dst, { form: 'plain' });
    assert.deepEqual(await listTree(dst), await listTree(src));
  }
});

test('deterministic: creation order and source mtimes do not change the digests under sourceDateEpoch', async () => {
  const a = join(tmp, 'det-a');
  const b = join(tmp, 'det-b');
  await buildTree(a, { reverse: false, mtime: 1_700_000_000 });
  await buildTree(b, { reverse: true, mtime: 1_710_000_000 });
  const opts: LayerWriteOptions = { form: 'plain', compression: 'gzip', sourceDateEpoch: 1_600_000_000 };
  const ra = (await write(a, opts)).res;
  const rb = (await write(b, opts)).res;
  assert.equal(ra.diffId, rb.diffId);
  assert.equal(ra.digest, rb.digest);
  // Without clamping the differing mtimes must show.
  const ua = (await write(a, { form: 'plain', compression: 'gzip' })).res;
  const ub = (await write(b, { form: 'plain', compression: 'gzip' })).res;
  assert.notEqual(ua.diffId, ub.diffId);
  // A touched file with an mtime before the epoch keeps its own mtime, so content still counts.
  await utimes(join(b, 'empty'), 1_000_000_000, 1_000_000_000);
  assert.notEqual((await write(b, opts)).res.diffId, ra.diffId);
});

test('archives written by GNU tar (gnu long names, posix PAX, xz/bzip2) apply like our own', async () => {
  const src = join(tmp, 'src-gnu');
  await buildTree(src, { reverse: false, mtime: 1_700_000_000 });
  for (const [format, flag] of [['gnu', '-z'], ['posix', '-J'], ['gnu', '-j']] as const) {
    const archive = join(tmp, `gnu-${format}${flag}.tar`);
    execFileSync('tar', [`--format=${format}`, '--xattrs', '--xattrs-include=*', flag, '-cf', archive, '-C', src, '.']);
    const dst = await mkdtemp(join(tmp, 'dst-gnu-'));
    await applyLayer(createReadStream(archive), dst, { form: 'plain' });
    assert.deepEqual(await listTree(dst), await listTree(src), `${format} ${flag}`);
    assert.equal(await readFile(join(dst, LONG_FILE), 'utf8'), 'long name');
    assert.equal((await lstat(join(dst, 'bin', 'tool'))).ino, (await lstat(join(dst, 'hardlink-to-tool'))).ino);
  }
});

test('sockets are skipped, as docker does', async () => {
  const src = join(tmp, 'src-sock');
  await mkdir(src);
  await writeFile(join(src, 'file'), 'x');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(src, 'sock'), resolve));
  try {
    const { blobPath } = await write(src, { form: 'plain', compression: 'gzip' });
    assert.deepEqual(execFileSync('tar', ['-tzf', blobPath]).toString().trim().split('\n'), ['file']);
  } finally {
    server.close();
  }
});

test('a file name that is not UTF-8 is a clear error, not a crash', async () => {
  const src = join(tmp, 'src-latin1');
  await mkdir(src);
  await writeFile(Buffer.from(`${src}/caf\xe9`, 'latin1'), 'x');
  await assert.rejects(write(src, { form: 'plain', compression: 'gzip' }), /caf\\xe9 in a layer: its name is not valid UTF-8/);
});

test('xattrs survive on names that getfattr/setfattr have to escape', async () => {
  const src = join(tmp, 'src-names');
  const name = 'sp ace\nnl=eq\\bs\tté';
  await mkdir(join(src, name), { recursive: true });
  await writeFile(join(src, name, name), 'x');
  execFileSync('setfattr', ['-n', 'user.odd', '-v', 'v1', join(src, name)]);
  execFileSync('setfattr', ['-n', 'user.odd', '-v', 'v2', join(src, name, name)]);
  const { blobPath } = await write(src, { form: 'plain', compression: 'gzip' });
  const dst = await mkdtemp(join(tmp, 'dst-names-'));
  await applyLayer(createReadStream(blobPath), dst, { form: 'plain' });
  assert.deepEqual(await listTree(dst), [`${name}/`, `${name}/${name}`]);
  for (const [p, v] of [[join(dst, name), 'v1'], [join(dst, name, name), 'v2']] as const) {
    assert.equal(execFileSync('getfattr', ['--only-values', '-n', 'user.odd', '--absolute-names', p]).toString(), v);
  }
});

test('writeLayerFromTar stores a foreign tar unchanged: diff_id is the sha256 of its uncompressed bytes', async () => {
  const src = join(tmp, 'src-import');
  await buildTree(src, { reverse: false, mtime: 1_700_000_000 });
  const plainTar = join(tmp, 'import.tar');
  execFileSync('tar', ['-cf', plainTar, '-C', src, '.']);
  execFileSync('gzip', ['-k', plainTar]);
  const blobs = testBlobStore(join(tmp, 'store'));
  const res = await writeLayerFromTar(createReadStream(`${plainTar}.gz`), 'zstd', blobs);
  assert.equal(res.diffId, sha(await readFile(plainTar)));
  assert.equal(res.digest, sha(await readFile(blobs.path(res.digest))));
  assert.equal(res.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
  const dst = await mkdtemp(join(tmp, 'dst-import-'));
  await applyLayer(createReadStream(blobs.path(res.digest)), dst, { form: 'plain' });
  assert.deepEqual(await listTree(dst), await listTree(src));
});

test('a small plain layer is stored in one write and a large one streamed: the same bytes as the tar stream; a wrong diff_id stores nothing', async () => {
  const store = new FsBlobStore(join(tmp, 'fs-store'));
  const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const collect = async (dir: string) => {
    const parts: Buffer[] = [];
    for await (const c of layerTarStream(dir, { form: 'plain', sourceDateEpoch: 0 })) parts.push(c as Buffer);
    return Buffer.concat(parts);
  };
  for (const [name, size] of [['small', 3000], ['large', 600 * 1024]] as const) {
    const dir = join(tmp, `sink-${name}`);
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'sub', 'data'), Buffer.alloc(size, 'x'));
    await writeFile(join(dir, 'note'), `${name}\n`);
    const tar = await collect(dir);
    const res = await writeLayer(dir, { form: 'plain', compression: 'none', sourceDateEpoch: 0 }, store);
    assert.equal(res.digest, sha(tar), name);
    assert.equal(res.diffId, res.digest, name);
    assert.equal(res.size, tar.length, name);
    assert.ok((await readFile(store.path(res.digest))).equals(tar), `${name}: stored bytes are the tar`);
    // The same tar fed back with a wrong diff_id is refused before anything is stored.
    const wrong = `sha256:${'0'.repeat(64)}`;
    const again = new FsBlobStore(join(tmp, `fs-store-${name}-2`));
    await assert.rejects(writeLayerFromTar(Readable.from([tar]), 'none', again, { diffId: wrong, what: `${name} layer` }),
      (e: Error & { code?: string }) => e.code === 'layer.diff-id-mismatch' && e.message.startsWith(`${name} layer:`));
    assert.equal(await again.has(res.digest), false, `${name}: nothing stored`);
    assert.deepEqual(await readdir(again.tmpDir).catch(() => []), [], `${name}: no temp file left`);
  }
});
