/**
 * The native addon (native/wharf_native.c, built by `npm run build`) against the programs it
 * replaces: an overlay it mounts behaves as one `mount` makes, umount leaves nothing in
 * /proc/self/mountinfo, and the xattrs it reads are exactly what getfattr reports (needs root).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeAddon, setNativeAddon, type NativeAddon } from '../../src/util/index.js';
import { isMountPoint, mountOverlay, unmountReliably } from '../../src/snapshot/overlay.js';
import { readTreeXattrs } from '../../src/layer/index.js';
import { requireRoot } from '../helpers/busybox.js';

const addonPath = fileURLToPath(new URL('../../native/wharf_native.node', import.meta.url));
let tmp: string;
before(async () => {
  requireRoot();
  tmp = await mkdtemp(join(tmpdir(), 'wharf-native-'));
});
after(async () => {
  setNativeAddon(undefined);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const useAddon = () => setNativeAddon(() => createRequire(addonPath)(addonPath) as NativeAddon);

test('the build made the addon and it loads', () => {
  assert.ok(existsSync(addonPath), `${addonPath} is missing: npm run build compiles it with cc`);
  useAddon();
  assert.equal(typeof nativeAddon()?.mountOverlay, 'function');
});

test('an overlay mounted through the addon takes writes into its upper dir and unmounts without a trace', async () => {
  useAddon();
  const lower = join(tmp, 'lower');
  await mkdir(join(lower, 'etc'), { recursive: true });
  await writeFile(join(lower, 'etc', 'base'), 'base\n');
  const m = await mountOverlay({ lowers: [lower], upper: join(tmp, 'upper'), target: join(tmp, 'merged') });
  assert.ok(await isMountPoint(m.target));
  assert.equal(await readFile(join(m.target, 'etc', 'base'), 'utf8'), 'base\n');
  await writeFile(join(m.target, 'etc', 'new'), 'new\n');
  await m.unmount();
  assert.equal(await isMountPoint(m.target), false);
  assert.equal(await readFile(join(tmp, 'upper', 'etc', 'new'), 'utf8'), 'new\n');
  // Not a mount point (any more): nothing to do, no error.
  await unmountReliably(join(tmp, 'upper'));
  // A failing mount names the reason.
  await assert.rejects(mountOverlay({ lowers: [join(tmp, 'nonexistent')], upper: join(tmp, 'u2'), target: join(tmp, 'm2') }), /cannot mount overlay on .*: mount overlay: No such file or directory/);
});

test('xattrs read through the addon are the ones getfattr reads', async () => {
  const tree = join(tmp, 'tree');
  await mkdir(join(tree, 'a', 'b'), { recursive: true });
  await writeFile(join(tree, 'a', 'file'), 'x');
  await writeFile(join(tree, 'plain'), 'y');
  await symlink('a/file', join(tree, 'link'));
  execFileSync('setfattr', ['-n', 'user.note', '-v', 'hello', join(tree, 'a', 'file')]);
  execFileSync('setfattr', ['-n', 'user.bin', '-v', '0x00ff10', join(tree, 'a', 'file')]);
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(tree, 'a', 'b')]);
  execFileSync('setfattr', ['-n', 'user.top', '-v', 'root', tree]);
  setNativeAddon(undefined);
  const viaGetfattr = await readTreeXattrs(tree);
  useAddon();
  const viaAddon = await readTreeXattrs(tree);
  assert.deepEqual(viaAddon, viaGetfattr);
  assert.deepEqual([...viaAddon.keys()].sort(), ['', 'a/b', 'a/file']);
  assert.deepEqual(viaAddon.get('a/file')?.get('user.bin'), Buffer.from([0, 0xff, 0x10]));
});
