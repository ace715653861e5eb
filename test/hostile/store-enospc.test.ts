// A full disk under the store: a clear error naming what was being written, the step and the
// store, no stack trace, and a store left consistent (fsck clean, no temp dirs, no mounts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharfBuildEnv } from '../helpers/wharf-build.js';
import { requireRoot } from '../helpers/busybox.js';
import { mountsUnder, NoSpaceError } from '../../src/util/index.js';
import { FsBlobStore } from '../../src/store/index.js';

let dir: string;
const mounted: string[] = [];
before(() => {
  requireRoot();
  dir = mkdtempSync(join(tmpdir(), 'wharf-store-enospc-'));
});
after(() => {
  for (const m of mounted) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
});

/** A store env whose root is a fresh tmpfs of `size`. */
function smallStore(name: string, size: string): ReturnType<typeof wharfBuildEnv> {
  const base = join(dir, name);
  const env = wharfBuildEnv(base);
  mkdirSync(env.root, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', env.root]);
  mounted.push(env.root);
  return env;
}

/** fsck is clean, and nothing in flight is left: no temp files, no snapshot temp dirs, no mounts. */
function assertConsistent(env: ReturnType<typeof wharfBuildEnv>): void {
  const fsck = env.wharf(['fsck']);
  assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
  assert.deepEqual(readdirSync(join(env.root, 'tmp')), []);
  assert.deepEqual(readdirSync(join(env.root, 'snapshots')).filter((n) => n.startsWith('.tmp-')), []);
  assert.deepEqual(mountsUnder(env.root), [env.root], 'only the test tmpfs itself');
}

function assertClean(stderr: string): void {
  assert.doesNotMatch(stderr, /internal error|\n\s+at .*:\d+:\d+/);
}

test('a RUN that fills the disk: "no space left on device while writing the layer of step #N (store: PATH)"', async () => {
  const env = smallStore('run', '24m');
  env.importBusybox();
  const ctx = await env.context('ctx', {
    'a.txt': 'a\n',
    // The RUN itself succeeds with the disk full; writing its layer cannot.
    Dockerfile: 'FROM busybox:test\nCOPY a.txt /a.txt\nRUN dd if=/dev/urandom of=/big bs=1M count=64 2>/dev/null; true\n',
  });
  const r = await env.build(ctx, ['-t', 'full:1']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`error: no space left on device while writing the layer of step #3 \\(store: ${env.root}\\)\\n`));
  assert.match(r.stderr, /hint: free space/);
  assertClean(r.stderr);
  assertConsistent(env);
  // With the space back, the same store builds.
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox:test\nCOPY a.txt /a.txt\nRUN dd if=/dev/urandom of=/big bs=1K count=64\n');
  const ok = await env.build(ctx, ['-t', 'full:1']);
  assert.equal(ok.status, 0, ok.stderr);
  assertConsistent(env);
});

test('an import that does not fit: a clear error naming the file, nothing left behind', () => {
  const env = smallStore('import', '4m');
  const tar = join(dir, 'big.tar');
  const src = join(dir, 'bigsrc');
  mkdirSync(src);
  writeFileSync(join(src, 'random'), randomBytes(8 << 20));
  execFileSync('tar', ['-C', src, '-cf', tar, '.']);
  const r = env.wharf(['import', tar, 'big:1']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`error: no space left on device while importing ${tar} \\(store: ${env.root}\\)\\n`));
  assertClean(r.stderr);
  assertConsistent(env);
});

test('a blob that does not fit: NoSpaceError "writing a blob", no temp file left', async () => {
  const env = smallStore('blob', '1m');
  mkdirSync(join(env.root, 'tmp'));
  const blobs = new FsBlobStore(env.root);
  await assert.rejects(blobs.putBytes(randomBytes(2 << 20)), (e: unknown) => {
    assert.ok(e instanceof NoSpaceError);
    assert.equal(e.message, `no space left on device while writing a blob (store: ${env.root})`);
    return true;
  });
  assert.deepEqual(readdirSync(join(env.root, 'tmp')), []);
});

test('a layer that fits packed but not unpacked: a clear error naming the layer', () => {
  const env = smallStore('unpack', '40m');
  const tar = join(dir, 'zeros.tar');
  const src = join(dir, 'zerosrc');
  mkdirSync(join(src, 'bin'), { recursive: true });
  writeFileSync(join(src, 'zeros'), Buffer.alloc(16 << 20));
  execFileSync('tar', ['-C', src, '-cf', tar, '.']);
  const imported = env.wharf(['import', tar, 'zeros:1']);
  assert.equal(imported.status, 0, imported.stderr);
  // The blob is a few KB of gzip; its snapshot (made by the import) is 16 MB. Without it, and on a
  // smaller disk, the run must unpack it again and cannot.
  for (const n of readdirSync(join(env.root, 'snapshots'))) if (n !== 'l') rmSync(join(env.root, 'snapshots', n), { recursive: true });
  execFileSync('mount', ['-o', 'remount,size=4m', env.root]);
  const r = env.wharf(['run', '--rm', 'zeros:1', '/bin/true']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`error: no space left on device while unpacking layer sha256:[0-9a-f]{64} \\(store: ${env.root}\\)\\n`));
  assertClean(r.stderr);
  assertConsistent(env);
});
