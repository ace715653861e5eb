/**
 * A real client reads our layers: two layers (a plain tree, then an overlay upper dir with a
 * whiteout and an opaque directory) in a hand-made OCI layout are unpacked by `umoci unpack`,
 * and the rootfs equals our own plain-form stacking of the same blobs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLayer, writeLayer, type LayerResult } from '../../src/layer/index.js';
import { testBlobStore } from './test-blob-store.js';
import { listTree } from './tree.js';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'wharf-layer-umoci-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('umoci unpacks a layout of our layers to the same tree our applier builds', async () => {
  const base = join(tmp, 'base');
  await mkdir(join(base, 'etc', 'conf.d'), { recursive: true });
  await mkdir(join(base, 'usr', 'bin'), { recursive: true });
  await writeFile(join(base, 'etc', 'conf.d', 'old'), 'old');
  await writeFile(join(base, 'etc', 'hostname'), 'base');
  await writeFile(join(base, 'usr', 'bin', 'tool'), '#!/bin/sh\n', { mode: 0o755 });
  await writeFile(join(base, 'gone'), 'to be deleted');
  await symlink('usr/bin', join(base, 'bin'));
  execFileSync('chown', ['-R', '-h', '100:200', join(base, 'etc')]);

  const upper = join(tmp, 'upper');
  await mkdir(join(upper, 'etc', 'conf.d'), { recursive: true });
  await writeFile(join(upper, 'etc', 'conf.d', 'new'), 'new');
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, 'etc', 'conf.d')]);
  execFileSync('mknod', [join(upper, 'gone'), 'c', '0', '0']);
  await writeFile(join(upper, 'etc', 'hostname'), 'changed');

  const layout = join(tmp, 'layout');
  const blobs = testBlobStore(layout);
  const layers: LayerResult[] = [
    await writeLayer(base, { form: 'plain', compression: 'gzip', sourceDateEpoch: 1_600_000_000 }, blobs),
    await writeLayer(upper, { form: 'overlay', compression: 'gzip', sourceDateEpoch: 1_600_000_000 }, blobs),
  ];
  const config = await blobs.putBytes(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } }),
  );
  const manifest = await blobs.putBytes(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifest.digest, size: manifest.size, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
    }),
  );

  const bundle = join(tmp, 'bundle');
  execFileSync('umoci', ['unpack', '--image', `${layout}:latest`, bundle], { stdio: 'pipe' });
  const ours = join(tmp, 'ours');
  for (const l of layers) await applyLayer(createReadStream(blobs.path(l.digest)), ours, { form: 'plain' });

  const rootfs = join(bundle, 'rootfs');
  const expected = ['bin', 'etc/', 'etc/conf.d/', 'etc/conf.d/new', 'etc/hostname', 'usr/', 'usr/bin/', 'usr/bin/tool'];
  assert.deepEqual(await listTree(rootfs), expected);
  assert.deepEqual(await listTree(ours), expected);
  for (const p of ['etc/hostname', 'etc/conf.d/new', 'usr/bin/tool']) {
    assert.equal(await readFile(join(ours, p), 'utf8'), await readFile(join(rootfs, p), 'utf8'), p);
    const [a, b] = [await lstat(join(ours, p)), await lstat(join(rootfs, p))];
    assert.deepEqual([a.mode, a.uid, a.gid, a.mtimeMs], [b.mode, b.uid, b.gid, b.mtimeMs], p);
  }
  assert.equal(await readFile(join(rootfs, 'etc', 'hostname'), 'utf8'), 'changed');
});
