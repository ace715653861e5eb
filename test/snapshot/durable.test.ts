import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/index.js';
import { openSnapshots, type LayerRef } from '../../src/snapshot/index.js';
import { currentBoot } from '../../src/snapshot/durable.js';
import { sha256Hex } from '../../src/hash/index.js';
import { requireRoot } from '../helpers/busybox.js';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { nativeAddon, setNativeAddon, type NativeAddon } from '../../src/util/index.js';

// Snapshots are written without syncs; one made in an earlier boot is used only when a syncfs of
// that boot started after it was made (src/snapshot/durable.ts). Another boot is simulated by
// rewriting the boot id in the snapshot's record.
describe('snapshots across a power loss', () => {
  let tmp: string;
  let root: string;
  let store: Store;
  const otherBoot = '00000000-0000-4000-8000-000000000000';

  before(async () => {
    requireRoot();
    assert.ok(currentBoot(), 'this kernel tells its boot id');
    tmp = mkdtempSync(join(tmpdir(), 'wharf-durable-'));
    root = join(tmp, 'root');
    store = await openStore(root);
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** A one-file layer committed from an upper dir; returns it and its snapshot dir. */
  async function committed(name: string): Promise<{ layer: LayerRef; snap: string }> {
    const upper = join(tmp, `upper-${name}`);
    mkdirSync(upper, { recursive: true });
    writeFileSync(join(upper, 'file'), `${name}\n`);
    const l = await openSnapshots(root, store).commitUpper(upper, [], { compression: 'none' });
    const layer: LayerRef = { descriptor: { mediaType: l.mediaType, digest: l.digest, size: l.size }, diffId: l.diffId };
    // A bottom layer's chain ID is its diff_id.
    return { layer, snap: join(root, 'snapshots', sha256Hex(l.diffId)) };
  }

  function setRecord(snap: string, patch: Record<string, unknown>): void {
    const rec = JSON.parse(readFileSync(join(snap, 'layer'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(snap, 'layer'), JSON.stringify({ ...rec, ...patch }) + '\n');
  }

  /** Marks the snapshot as possibly torn: a file only a stale copy would have. */
  function plant(snap: string): void {
    writeFileSync(join(snap, 'fs', 'stale'), 'left by a crash\n');
  }

  it('records this boot and when the snapshot was made', async () => {
    const before = Date.now();
    const { snap } = await committed('a');
    const rec = JSON.parse(readFileSync(join(snap, 'layer'), 'utf8')) as { boot: string; madeAt: number };
    assert.equal(rec.boot, currentBoot());
    assert.ok(rec.madeAt >= before && rec.madeAt <= Date.now());
  });

  it('unpacks again a snapshot of an earlier boot that no sync covered', async () => {
    const { layer, snap } = await committed('b');
    setRecord(snap, { boot: otherBoot, madeAt: Date.now() });
    plant(snap);
    const [lower] = await openSnapshots(root, store).prepare([layer]);
    assert.equal(lower, join(snap, 'fs'));
    assert.equal(existsSync(join(snap, 'fs', 'stale')), false, 'the stale snapshot was replaced');
    assert.equal(readFileSync(join(snap, 'fs', 'file'), 'utf8'), 'b\n', 'unpacked from its blob');
    const rec = JSON.parse(readFileSync(join(snap, 'layer'), 'utf8')) as { boot: string };
    assert.equal(rec.boot, currentBoot());
    assert.deepEqual(readdirSync(join(root, 'snapshots')).filter((n) => n.startsWith('.tmp-')), [], 'no temp dir left');
  });

  it('keeps a snapshot of an earlier boot when a sync of that boot started after it', async () => {
    const { layer, snap } = await committed('c');
    setRecord(snap, { boot: otherBoot, madeAt: 1000 });
    mkdirSync(join(root, 'snapshots', 'synced'), { recursive: true });
    writeFileSync(join(root, 'snapshots', 'synced', otherBoot), '2000\n');
    plant(snap);
    await openSnapshots(root, store).prepare([layer]);
    assert.ok(existsSync(join(snap, 'fs', 'stale')), 'kept as it was');

    // A sync that started before the snapshot was made does not cover it.
    const d = await committed('d');
    setRecord(d.snap, { boot: otherBoot, madeAt: 3000 });
    plant(d.snap);
    await openSnapshots(root, store).prepare([d.layer]);
    assert.equal(existsSync(join(d.snap, 'fs', 'stale')), false);
  });

  it('takes a torn record for a torn snapshot, and a missing one for an old snapshot', async () => {
    const e = await committed('e');
    writeFileSync(join(e.snap, 'layer'), '');
    plant(e.snap);
    await openSnapshots(root, store).prepare([e.layer]);
    assert.equal(existsSync(join(e.snap, 'fs', 'stale')), false, 'torn record: unpacked again');

    const f = await committed('f');
    rmSync(join(f.snap, 'layer'));
    plant(f.snap);
    await openSnapshots(root, store).prepare([f.layer]);
    assert.ok(existsSync(join(f.snap, 'fs', 'stale')), 'no record: made before records, trusted as before');
  });

  it('flush syncs once after installs and notes when; without installs it does nothing', async () => {
    const marker = join(root, 'snapshots', 'synced', currentBoot());
    rmSync(marker, { force: true });
    const snaps = openSnapshots(root, store);
    await snaps.flush();
    assert.equal(existsSync(marker), false, 'nothing installed: no sync, no marker');
    const upper = join(tmp, 'upper-g');
    mkdirSync(upper);
    writeFileSync(join(upper, 'g'), 'g\n');
    const l = await snaps.commitUpper(upper, [], { compression: 'none' });
    const rec = JSON.parse(readFileSync(join(root, 'snapshots', sha256Hex(l.diffId), 'layer'), 'utf8')) as { madeAt: number };
    await snaps.flush();
    assert.ok(Number(readFileSync(marker, 'utf8')) >= rec.madeAt, 'the sync started after the snapshot was made');
  });

  /** An upper dir on the store's file system holding one file. */
  function upperWith(name: string): string {
    const upper = join(tmp, `upper-${name}`);
    mkdirSync(upper);
    writeFileSync(join(upper, name), `${name}\n`);
    return upper;
  }
  const recordOf = (diffId: string) => JSON.parse(readFileSync(join(root, 'snapshots', sha256Hex(diffId as LayerRef['diffId']), 'layer'), 'utf8')) as { madeAt: number };

  /** Runs `fn` with no `sync` or `sh` to be found: a flush that needs a sync cannot do one. */
  async function withoutSyncTools<T>(fn: () => Promise<T>): Promise<T> {
    const path = process.env.PATH;
    process.env.PATH = join(tmp, 'no-tools');
    try {
      return await fn();
    } finally {
      process.env.PATH = path;
    }
  }

  it('a completed sync covers what was installed before it began: flush then only writes the marker', async () => {
    const marker = join(root, 'snapshots', 'synced', currentBoot());
    rmSync(marker, { force: true });
    const snaps = openSnapshots(root, store);
    const first = await snaps.commitUpper(upperWith('h'), [], { compression: 'none' });
    await new Promise((r) => setTimeout(r, 3)); // the point's millisecond is later than the install's
    const upper = upperWith('i');
    const point = snaps.syncPoint(upper);
    assert.ok(point, 'the upper dir is on the snapshots\' file system');
    const second = await snaps.commitUpper(upper, [], { compression: 'none', writtenBefore: point });
    assert.equal(recordOf(second.diffId).madeAt, point.at, 'a snapshot whose files were written before the point counts as made then');
    assert.ok(recordOf(first.diffId).madeAt <= point.at);
    snaps.synced(point);
    await withoutSyncTools(() => snaps.flush());
    assert.equal(Number(readFileSync(marker, 'utf8')), point.at, 'the marker moved to the point without a sync of its own');
  });

  it('an install after the point, or a point whose sync never completed, leaves the sync to flush', async () => {
    const marker = join(root, 'snapshots', 'synced', currentBoot());
    for (const late of [true, false]) {
      rmSync(marker, { force: true });
      const snaps = openSnapshots(root, store);
      const upper = upperWith(late ? 'j' : 'k');
      const point = snaps.syncPoint(upper)!;
      await new Promise((r) => setTimeout(r, 3));
      if (late) {
        await snaps.commitUpper(upper, [], { compression: 'none' }); // made after the sync began
        snaps.synced(point);
      } else {
        await snaps.commitUpper(upper, [], { compression: 'none', writtenBefore: point }); // its umount failed: no synced()
      }
      await withoutSyncTools(() => snaps.flush());
      assert.equal(existsSync(marker), false, `no sync could run, so no marker (${late ? 'install after the point' : 'point never synced'})`);
      await snaps.commitUpper(upperWith(late ? 'j2' : 'k2'), [], { compression: 'none' });
      await snaps.flush();
      assert.ok(Number(readFileSync(marker, 'utf8')) > point.at, 'a real sync, later than the point');
    }
  });

  it('gives no sync point for a path on another file system', () => {
    assert.equal(openSnapshots(root, store).syncPoint('/proc/self'), undefined);
  });

  it('fsck and GC leave the markers alone', async () => {
    const snaps = openSnapshots(root, store);
    assert.deepEqual((await snaps.fsck()).filter((p) => p.chain === 'synced'), []);
    const { openApiStore } = await import('../../src/api/open-store.js');
    const withHooks = await openApiStore(root);
    // Nothing is tagged: the snapshots' blobs are garbage (within the grace period or not), the markers stay.
    await withHooks.gc();
    assert.ok(existsSync(join(root, 'snapshots', 'synced', currentBoot())));
  });
});

for (const withAddon of [false, true]) describe(`the background sync (${withAddon ? "the addon's posix_spawn" : "Node's spawn"})`, () => {
  it('writes the marker once the sync is done, and never lowers it', async () => {
    requireRoot();
    const { syncSnapshots } = await import('../../src/snapshot/durable.js');
    const addonPath = fileURLToPath(new URL('../../native/wharf_native.node', import.meta.url));
    setNativeAddon(withAddon ? () => createRequire(addonPath)(addonPath) as NativeAddon : undefined);
    if (withAddon) assert.equal(typeof nativeAddon()?.spawnDetached, 'function');
    const dir = mkdtempSync(join(tmpdir(), 'wharf-durable-bg-'));
    try {
      const marker = join(dir, 'synced', currentBoot());
      const before = Date.now();
      await syncSnapshots(dir, { background: true });
      for (let i = 0; i < 200 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 25));
      const t = Number(readFileSync(marker, 'utf8'));
      assert.ok(t >= before && t <= Date.now(), `the marker holds when the sync started: ${t}`);
      writeFileSync(marker, `${Date.now() + 60_000}\n`);
      const later = readFileSync(marker, 'utf8');
      await syncSnapshots(dir, { background: true });
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(readFileSync(marker, 'utf8'), later, 'a later marker stays');
      assert.deepEqual(readdirSync(join(dir, 'synced')), [currentBoot()], 'no temp file left');
    } finally {
      setNativeAddon(undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
