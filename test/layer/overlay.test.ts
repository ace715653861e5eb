/**
 * Overlay upper dir → layer with a real overlayfs mount (needs root): deletions become `.wh.`
 * entries (never hard links, though overlayfs gives all whiteouts one inode), a replaced
 * directory gets `.wh..wh..opq`, overlay xattrs stay out. Applying the layer in overlay form and
 * stacking it on the lower dir reproduces the merged view.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLayer, decompressed, writeLayer, readTar } from '../../src/layer/index.js';
import { isUserError } from '../../src/util/index.js';
import { testBlobStore } from './test-blob-store.js';
import { applyBuffer, listTree, makeTar } from './tree.js';

let tmp: string;
const mounted: string[] = [];
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'wharf-layer-ovl-'));
});
after(async () => {
  for (const m of mounted.reverse()) execFileSync('umount', [m]);
  await rm(tmp, { recursive: true, force: true });
});

function mount(options: string, at: string): void {
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', options, at]);
  mounted.push(at);
}
function unmount(at: string): void {
  execFileSync('umount', [at]);
  mounted.splice(mounted.indexOf(at), 1);
}

test('overlay upper dir → layer with whiteouts and opaque markers, and back', async () => {
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => join(tmp, d)) as [string, string, string, string];
  for (const d of [upper, work, merged]) await mkdir(d);
  await mkdir(join(lower, 'd', 'sub'), { recursive: true });
  for (const f of ['x', 'y', 'keep', 'd/a', 'd/sub/b']) await writeFile(join(lower, f), f);

  mount(`lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged);
  await rm(join(merged, 'x'));
  await rm(join(merged, 'y'));
  await rm(join(merged, 'd'), { recursive: true });
  await mkdir(join(merged, 'd'));
  await writeFile(join(merged, 'd', 'new'), 'new');
  await writeFile(join(merged, 'newfile'), 'newfile');
  await link(join(merged, 'newfile'), join(merged, 'newfile-hl'));
  const expectedView = await listTree(merged);
  unmount(merged);
  assert.ok((await lstat(join(upper, 'x'))).nlink > 1, 'overlayfs shares one whiteout inode (the case under test)');

  const blobs = testBlobStore(join(tmp, 'store'));
  const res = await writeLayer(upper, { form: 'overlay', compression: 'gzip', sourceDateEpoch: 0 }, blobs);
  const entries: string[] = [];
  for await (const e of readTar(await decompressed(createReadStream(blobs.path(res.digest))))) {
    entries.push(`${e.path} ${e.type}${e.type === 'hardlink' ? ` ${e.linkname}` : ''}`);
    assert.ok(![...e.xattrs.keys()].some((k) => k.startsWith('trusted.overlay.')), `${e.path}: overlay xattrs dropped`);
  }
  assert.deepEqual(entries, [
    '.wh.x file',
    '.wh.y file',
    'd/ dir',
    'd/.wh..wh..opq file',
    'd/new file',
    'newfile file',
    'newfile-hl hardlink newfile',
  ]);
  const listing = execFileSync('tar', ['-tzf', blobs.path(res.digest)]).toString();
  assert.match(listing, /^\.wh\.x$/m);

  // Back to overlay form: a snapshot dir that overlayfs itself reads as a lower layer.
  const snap = join(tmp, 'snap');
  await applyLayer(createReadStream(blobs.path(res.digest)), snap, { form: 'overlay' });
  const wh = await lstat(join(snap, 'x'));
  assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'whiteout is char 0/0');
  assert.match(execFileSync('getfattr', ['-n', 'trusted.overlay.opaque', '--absolute-names', join(snap, 'd')]).toString(), /="y"/);
  const view = join(tmp, 'view');
  await mkdir(view);
  mount(`lowerdir=${snap}:${lower}`, view);
  assert.deepEqual(await listTree(view), expectedView);
  assert.equal(await readFile(join(view, 'd', 'new'), 'utf8'), 'new');
  unmount(view);

  // And in plain form the same layer, stacked on a copy of the lower, gives the same tree.
  const plain = join(tmp, 'plain');
  execFileSync('cp', ['-a', lower, plain]);
  await applyLayer(createReadStream(blobs.path(res.digest)), plain, { form: 'plain' });
  assert.deepEqual(await listTree(plain), expectedView);
});

test('an upper dir using redirect_dir or metacopy is refused: the tar cannot say where content lives', async () => {
  const upper = join(tmp, 'upper-redirect');
  await mkdir(join(upper, 'renamed'), { recursive: true });
  execFileSync('setfattr', ['-n', 'trusted.overlay.redirect', '-v', '/original', join(upper, 'renamed')]);
  const blobs = testBlobStore(join(tmp, 'store'));
  await assert.rejects(writeLayer(upper, { form: 'overlay', compression: 'gzip' }, blobs), (e: unknown) => {
    assert.ok(isUserError(e) && e.code === 'layer.overlay-feature', String(e));
    assert.match(e.message, /trusted\.overlay\.redirect/);
    return true;
  });
});

test('overlay-form apply: a replaced whiteout is never linked to, an opaque marker before its dir keeps', async () => {
  const snap = join(tmp, 'snap-edge');
  const tar = makeTar([
    { path: '.wh.a', type: 'file' },
    { path: 'a', type: 'file', content: 'data' },
    { path: '.wh.b', type: 'file' },
    { path: '.wh.c', type: 'file' },
    { path: 'd/.wh..wh..opq', type: 'file' },
    { path: 'd', type: 'dir', xattrs: new Map([['user.k', Buffer.from('v')]]) },
    { path: 'd/x', type: 'file', xattrs: new Map([['trusted.overlay.redirect', Buffer.from('/evil')]]) },
  ]);
  await applyBuffer(tar, snap, 'overlay');
  const a = await lstat(join(snap, 'a'));
  assert.ok(a.isFile() && a.nlink === 1, 'a is its own file');
  assert.equal(await readFile(join(snap, 'a'), 'utf8'), 'data');
  const [b, c] = [await lstat(join(snap, 'b')), await lstat(join(snap, 'c'))];
  assert.ok(b.isCharacterDevice() && b.rdev === 0 && c.isCharacterDevice() && c.rdev === 0);
  assert.equal(b.ino, c.ino, 'whiteouts share an inode, as overlayfs makes them');
  const dump = execFileSync('getfattr', ['-d', '-m', '-', '--absolute-names', join(snap, 'd'), join(snap, 'd', 'x')]).toString();
  assert.match(dump, /trusted\.overlay\.opaque="y"/);
  assert.match(dump, /user\.k="v"/);
  assert.doesNotMatch(dump, /redirect/, 'overlay xattrs from the archive are never applied');
});
