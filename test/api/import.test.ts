// The library imports a rootfs tarball as `wharf import` (and `docker import`) does, with no CLI in
// between: one layer, the given name, SOURCE_DATE_EPOCH as an option, the layer unpacked at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, UserError } from '../../src/api/index.js';
import { sha256Hex } from '../../src/hash/index.js';

test('import(): a one-layer image, tagged, dated by sourceDateEpoch, its snapshot ready; bad input refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-api-import-'));
  try {
    await mkdir(join(dir, 'rootfs', 'etc'), { recursive: true });
    await writeFile(join(dir, 'rootfs', 'etc', 'motd'), 'hello\n');
    execFileSync('tar', ['-C', join(dir, 'rootfs'), '-czf', join(dir, 'rootfs.tar.gz'), '.']);
    const store = await openStore(join(dir, 'store'));
    const id = await store.import(join(dir, 'rootfs.tar.gz'), 'base:1', { compression: 'zstd', sourceDateEpoch: 1_700_000_000 });
    const { image } = await store.find('base:1');
    assert.equal(image.id, id);
    assert.equal(image.manifest.layers.length, 1);
    assert.match(image.manifest.layers[0]!.mediaType, /zstd/);
    assert.equal(image.config.created, new Date(1_700_000_000_000).toISOString().replace('.000Z', 'Z'));
    const snaps = await readdir(join(dir, 'store', 'snapshots'));
    assert.ok(snaps.includes(sha256Hex(image.config.rootfs.diff_ids[0]!)), `unpacked at import: ${snaps.join(' ')}`);
    // The same tarball and epoch give the same image (deterministic layer).
    assert.equal(await store.import(join(dir, 'rootfs.tar.gz'), 'base:2', { compression: 'zstd', sourceDateEpoch: 1_700_000_000 }), id);
    await writeFile(join(dir, 'empty.tar'), '');
    await assert.rejects(store.import(join(dir, 'empty.tar'), 'x:1'), (e) => e instanceof UserError && /empty/.test(e.message));
    await assert.rejects(store.import(join(dir, 'rootfs.tar.gz'), 'x:1', { compression: 'xz' as 'gzip' }), /compression xz is not supported/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
