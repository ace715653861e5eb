/**
 * Hostile archives for `wharf load`, each built here: layers that do not match their diff_id,
 * members that are links out of the archive, devices, FIFOs or directories, oversized and
 * malformed documents, layers with `..` entries. Each is refused with a clear message, exit 1,
 * no stack trace, and the store gains nothing (no tag, fsck clean).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot } from '../helpers/busybox.js';
import {
  assertRefused, assertStoreUnchanged, cli, configFor, diffIdOf, dockerMembers, LAYER, ociMembers, OTHER_LAYER, tarOf, writeTree, type Member,
} from './archive-fixtures.js';

let tmp: string;
let wharf: ReturnType<typeof cli>;
let tagsBefore: string;
let n = 0;

before(async () => {
  requireRoot();
  tmp = await mkdtemp(join(tmpdir(), 'wharf-archive-load-'));
  wharf = cli(join(tmp, 'store'));
  // A real image first: a hostile archive must not replace its layer.
  await writeFile(join(tmp, 'good.tar'), tarOf(dockerMembers({ layers: [LAYER], tag: 'good:1' })));
  assert.equal(wharf(['load', '-i', join(tmp, 'good.tar')]).status, 0);
  tagsBefore = wharf(['images']).stdout;
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function archive(members: readonly Member[]): Promise<string> {
  const p = join(tmp, `a${++n}.tar`);
  await writeFile(p, tarOf(members));
  return p;
}

async function refusedLoad(members: readonly Member[] | string, message: RegExp): Promise<void> {
  const input = typeof members === 'string' ? members : await archive(members);
  assertRefused(wharf(['load', '-i', input]), message);
  assertStoreUnchanged(wharf, tagsBefore);
}

test('a docker archive whose layer does not match its diff_id is refused, nothing stored', async () => {
  // The config claims the real layer's diff_id; the archive carries another layer.
  await refusedLoad(dockerMembers({ layers: [OTHER_LAYER], diffIds: [diffIdOf(LAYER)] }), /layer l0\.tar: content does not match its diff_id sha256:[0-9a-f]{64}/);
  const f = wharf(['fsck']);
  assert.match(f.stdout, / 0 unreferenced blob/, 'a blob of the refused archive was stored');
  // The real layer's snapshot (named by that diff_id) still has the real content.
  const snap = join(tmp, 'store', 'snapshots', diffIdOf(LAYER).slice('sha256:'.length), 'fs', 'etc', 'hello');
  assert.equal(await readFile(snap, 'utf8'), 'real layer\n');
});

test('an OCI archive and an OCI layout dir whose layer does not match its diff_id are refused', async () => {
  const members = ociMembers({ layers: [OTHER_LAYER], diffIds: [diffIdOf(LAYER)] });
  await refusedLoad(members, /content does not match its diff_id/);
  const dir = join(tmp, 'layout-bad');
  await writeTree(dir, members);
  await refusedLoad(dir, /content does not match its diff_id/);
  // Not even unreferenced blobs: the checked blobs are committed only when everything holds.
  assert.match(wharf(['fsck']).stdout, / 0 unreferenced blob/);
  assert.deepEqual(await readdir(join(tmp, 'store', 'tmp')), [], 'a blob writer\'s temp file was left');
});

test('good docker and OCI archives (and a layout dir) still load, and fsck is clean', async () => {
  for (const [i, ms] of [dockerMembers({ layers: [LAYER, OTHER_LAYER], tag: 'ok-docker:1' }), ociMembers({ layers: [LAYER, OTHER_LAYER], tag: 'ok-oci:1' })].entries()) {
    const r = wharf(['load', '-i', await archive(ms)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, i === 0 ? /Loaded image: ok-docker:1/ : /Loaded image: ok-oci:1/);
  }
  const dir = join(tmp, 'layout-good');
  await writeTree(dir, ociMembers({ layers: [LAYER], tag: 'ok-dir:1' }));
  assert.equal(wharf(['load', '-i', dir]).status, 0);
  // docker save (before 25) links a layer two images share: a relative link inside the archive is followed.
  const shared = dockerMembers({ layers: [LAYER], tag: 'ok-linked:1' }, { extra: [{ path: 'l0.tar', type: 'symlink', linkname: 'inner/real.tar' }, { path: 'inner', type: 'dir' }, { path: 'inner/real.tar', content: LAYER }] });
  const r = wharf(['load', '-i', await archive(shared)]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(wharf(['fsck']).status, 0);
  for (const t of ['ok-docker:1', 'ok-oci:1', 'ok-dir:1', 'ok-linked:1']) assert.equal(wharf(['rmi', t]).status, 0);
  assert.equal(wharf(['prune']).status, 0);
});

test('members that are symlinks or hard links out of the archive are refused, naming the member', async () => {
  // Host files that would load cleanly if they were followed.
  const host = join(tmp, 'host');
  await mkdir(host, { recursive: true });
  await writeFile(join(host, 'layer.tar'), LAYER);
  await writeFile(join(host, 'cfg.json'), configFor([diffIdOf(LAYER)]));
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { extra: [{ path: 'cfg.json', type: 'symlink', linkname: join(host, 'cfg.json') }] }), /member "cfg\.json" is a symlink to ".*cfg\.json", outside the archive/);
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { extra: [{ path: 'cfg.json', type: 'symlink', linkname: '/etc/passwd' }] }), /member "cfg\.json" is a symlink to "\/etc\/passwd", outside the archive/);
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { extra: [{ path: 'l0.tar', type: 'symlink', linkname: join(host, 'layer.tar') }] }), /member "l0\.tar" is a symlink to .*outside the archive/);
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { extra: [{ path: 'l0.tar', type: 'symlink', linkname: '../../../../../../../..' + join(host, 'layer.tar') }] }), /member "l0\.tar" leads outside the archive through a symlink/);
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { extra: [{ path: 'l0.tar', type: 'hardlink', linkname: join(host, 'layer.tar') }] }), /member "l0\.tar" is a hard link to .*outside the archive/);
  // blobs -> a host dir holding exactly the blobs the index names.
  const good = ociMembers({ layers: [LAYER] });
  const hostBlobs = join(tmp, 'hostblobs');
  await writeTree(hostBlobs, good.filter((m) => m.path.startsWith('blobs/sha256/')));
  const viaLink = [...good.filter((m) => !m.path.startsWith('blobs')), { path: 'blobs', type: 'symlink' as const, linkname: join(hostBlobs, 'blobs') }];
  await refusedLoad(viaLink, /member "blobs\/sha256\/[0-9a-f]{64}" is a symlink to ".*hostblobs\/blobs", outside the archive/);
  // The same through a layout directory: no symlink is followed out of it.
  const dir = join(tmp, 'layout-link');
  await writeTree(dir, good.filter((m) => !m.path.startsWith('blobs')));
  await symlink(join(hostBlobs, 'blobs'), join(dir, 'blobs'));
  await refusedLoad(dir, /"blobs" is a symlink, which an OCI layout directory is not read through/);
});

test('members that are devices, FIFOs or directories are refused, naming the member', async () => {
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { extra: [{ path: 'l0.tar', type: 'char', devmajor: 1, devminor: 5 }] }), /member "l0\.tar" is a character device, not a regular file/);
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { extra: [{ path: 'l0.tar', type: 'fifo' }] }), /member "l0\.tar" is a FIFO, not a regular file/);
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { extra: [{ path: 'cfg.json', type: 'block', devmajor: 7, devminor: 0 }] }), /member "cfg\.json" is a block device/);
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { extra: [{ path: 'cfg.json', type: 'dir' }] }), /member "cfg\.json" is a directory, not a regular file/);
  // An OCI blob that is /dev/zero (would fill the disk) or a FIFO (would hang), in a layout dir.
  const good = ociMembers({ layers: [LAYER] });
  const layerBlob = good.find((m) => m.path.startsWith('blobs/sha256/') && Buffer.from(m.content!).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b])))!;
  const dir = join(tmp, 'layout-dev');
  await writeTree(dir, good.filter((m) => m !== layerBlob));
  execFileSync('mknod', [join(dir, layerBlob.path), 'c', '1', '5']);
  await refusedLoad(dir, /is not a regular file/);
  const dir2 = join(tmp, 'layout-fifo');
  await writeTree(dir2, good.filter((m) => m !== layerBlob));
  execFileSync('mkfifo', [join(dir2, layerBlob.path)]);
  await refusedLoad(dir2, /is not a regular file/);
  // And the archive given to load is itself a FIFO.
  const fifo = join(tmp, 'archive.fifo');
  execFileSync('mkfifo', [fifo]);
  await refusedLoad(fifo, /archive\.fifo: is a FIFO/);
});

test('oversized documents are refused: config over 8 MiB, manifest.json / index / manifest over 4 MiB', async () => {
  const big = (n: number) => Buffer.from(JSON.stringify({ pad: 'x'.repeat(n) }));
  await refusedLoad(dockerMembers({ layers: [LAYER], config: big(8 * 1024 * 1024) }), /member "cfg\.json": is \d+ bytes, more than the 8388608 allowed/);
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { manifest: JSON.stringify([{ Config: 'cfg.json', RepoTags: ['x:1'], Layers: ['l0.tar'], pad: 'x'.repeat(4 * 1024 * 1024) }]) }), /member "manifest\.json": is \d+ bytes, more than the 4194304 allowed/);
  await refusedLoad(ociMembers({ layers: [LAYER] }, { index: JSON.stringify({ schemaVersion: 2, manifests: [], pad: 'x'.repeat(4 * 1024 * 1024) }) }), /member "index\.json": is \d+ bytes, more than the 4194304 allowed/);
  const hugeManifest = Buffer.from(JSON.stringify({ schemaVersion: 2, pad: 'x'.repeat(4 * 1024 * 1024) }));
  const { sha256Of } = await import('../../src/hash/index.js');
  const d = sha256Of(hugeManifest);
  await refusedLoad(ociMembers({ layers: [] }, {
    index: { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: d, size: hugeManifest.length, annotations: { 'org.opencontainers.image.ref.name': 'x:1' } }] },
    extra: [{ path: `blobs/sha256/${d.slice(7)}`, content: hugeManifest }],
  }), /manifest sha256:[0-9a-f]{64} is \d+ bytes, more than the 4194304 allowed/);
});

test('malformed documents get clear errors: bad JSON, null config, manifests not a list, wrong types, a missing layer', async () => {
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { manifest: '[{"Config": ' }), /manifest\.json is not valid JSON/);
  await refusedLoad(dockerMembers({ layers: [LAYER], config: Buffer.from('null') }), /cfg\.json is null, not a JSON object/);
  await refusedLoad(dockerMembers({ layers: [LAYER], config: Buffer.from('{"rootfs": 5}') }), /cfg\.json has no rootfs\.diff_ids list/);
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { manifest: { Config: 'cfg.json' } }), /manifest\.json is not a list/);
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { manifest: [{ Config: 5, Layers: 'l0.tar' }] }), /manifest\.json entry 0 is malformed/);
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { manifest: [{ Config: 'cfg.json', RepoTags: [7], Layers: ['l0.tar'] }] }), /manifest\.json entry 0 is malformed/);
  await refusedLoad(dockerMembers({ layers: [LAYER] }, { omit: ['l0.tar'] }), /member "l0\.tar" is missing from the archive/);
  await refusedLoad(ociMembers({ layers: [LAYER] }, { index: { schemaVersion: 2, manifests: { a: 1 } } }), /index\.json "manifests" is not a list/);
  await refusedLoad(ociMembers({ layers: [LAYER] }, { index: '{"manifests": [' }), /index\.json is not valid JSON/);
  await refusedLoad(ociMembers({ layers: [LAYER] }, { index: 'null' }), /index\.json is null, not a JSON object/);
  await refusedLoad(ociMembers({ layers: [LAYER] }, { index: { manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:../../etc', size: 1 }] } }), /not a sha256 digest/);
  await refusedLoad(ociMembers({ layers: [LAYER] }, { omitBlobs: true }), /member "blobs\/sha256\/[0-9a-f]{64}" is missing/);
});

test('a layer with ../ entries, or one that writes through a symlink out of its root, is refused at load', async () => {
  const dotdot = tarOf([{ path: '../escape.txt', content: 'x' }]);
  await refusedLoad(dockerMembers({ layers: [dotdot] }), /refusing layer entry "\.\.\/escape\.txt": path leads outside the target/);
  await refusedLoad(ociMembers({ layers: [dotdot] }), /refusing layer entry "\.\.\/escape\.txt"/);
  const through = tarOf([{ path: 'up', type: 'symlink', linkname: '../../..' }, { path: 'up/escape.txt', content: 'x' }]);
  await refusedLoad(dockerMembers({ layers: [through] }), /refusing layer entry "up\/escape\.txt"/);
});

test('manifest.json or index.json that is itself a link out is refused naming it, not mistaken for another format', async () => {
  await refusedLoad([...dockerMembers({ layers: [LAYER] }).filter((m) => m.path !== 'manifest.json'), { path: 'manifest.json', type: 'symlink', linkname: '/etc/passwd' }], /member "manifest\.json" is a symlink to "\/etc\/passwd", outside the archive/);
  const oci = ociMembers({ layers: [LAYER] });
  await refusedLoad([...oci.filter((m) => m.path !== 'index.json'), { path: 'index.json', type: 'fifo' }], /member "index\.json" is a FIFO, not a regular file/);
});

test('a damaged gzip archive or layer, and a member name the file system cannot hold, are refused by name (fuzz finds)', async () => {
  const { gzipSync } = await import('node:zlib');
  // Flip bytes inside the deflate stream: zlib then fails with a data error, which used to surface as a bug.
  const gz = gzipSync(tarOf(dockerMembers({ layers: [LAYER], tag: 'gz:1' })));
  for (let i = 20; i < gz.length - 8; i += 7) gz[i] = gz[i]! ^ 0x5a;
  const damaged = join(tmp, `a${++n}.tar.gz`);
  await writeFile(damaged, gz);
  await refusedLoad(damaged, /a\d+\.tar\.gz: the gzip data is corrupt \(/);
  const layerGz = gzipSync(LAYER);
  for (let i = 20; i < layerGz.length - 8; i += 5) layerGz[i] = layerGz[i]! ^ 0x5a;
  await refusedLoad(dockerMembers({ layers: [layerGz], diffIds: [diffIdOf(LAYER)] }), /layer l0\.tar: the gzip data is corrupt/);
  // A 300-byte component (PAX path) is a valid tar name but longer than any Linux file name.
  const long = 'x'.repeat(300);
  await refusedLoad([...dockerMembers({ layers: [LAYER] }), { path: long, content: 'x' }], new RegExp(`member "${long}" cannot be unpacked: ENAMETOOLONG`));
});
