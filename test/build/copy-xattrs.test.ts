import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxStoreForFile, cachedFlags } from '../helpers/wharf-build.js';
import { openStore } from '../../src/store/index.js';
import { loadImage } from '../../src/image/index.js';
import { decompressed, readTar } from '../../src/layer/index.js';
import { wharfBin } from '../helpers/paths.js';

// Extended attributes of context files (issue 19, "Exact explanations"): in the COPY key, named
// when they change, and carried into the layer as Docker's COPY does (user.*, security.capability).
const suite = busyboxStoreForFile('wharf-copy-xattrs-');

const setfattr = (...args: string[]) => execFileSync('setfattr', args);

/** path → xattrs (hex) of the image's `back`-th layer from the end, as its tar says (PAX SCHILY.xattr.*). */
async function lastLayerXattrs(image: string, back = 1): Promise<Map<string, Map<string, string>>> {
  const store = await openStore(suite.env.root);
  const img = await loadImage(store, image);
  const layer = img.manifest.layers[img.manifest.layers.length - back]!;
  const out = new Map<string, Map<string, string>>();
  for await (const e of readTar(await decompressed(createReadStream(store.path(layer.digest))))) {
    if (e.xattrs.size) out.set(e.path, new Map([...e.xattrs].map(([k, v]) => [k, v.toString('hex')])));
    for await (const _ of e.body) void _;
  }
  return out;
}

test('setting, changing and removing an xattr on a copied file misses the COPY and names it; the layer carries it', async () => {
  const ctx = await suite.env.context('xattr', {
    Dockerfile: 'FROM busybox:test\nCOPY app/ /app/\nRUN cat /app/a\n',
    'app/a': 'a\n',
    'app/b': 'b\n',
    'app/ignored': 'i\n',
    '.dockerignore': 'app/ignored\n',
  });
  const first = await suite.env.build(ctx, ['-t', 'x:1']);
  assert.equal(first.status, 0, first.stderr);

  setfattr('-n', 'user.note', '-v', 'x', join(ctx, 'app/a'));
  // An ignored file's attributes are never read into a key.
  setfattr('-n', 'user.note', '-v', 'y', join(ctx, 'app/ignored'));
  const added = await suite.env.build(ctx, ['-t', 'x:2']);
  assert.equal(added.status, 0, added.stderr);
  assert.deepEqual(cachedFlags(added.meta!).slice(1), [false, false]);
  assert.match(added.stderr, /#2 cache miss: files: app\/a \(metadata: xattrs: user\.note added\)\n/);
  assert.deepEqual((added.meta!['wharf.steps'][1] as { miss?: unknown }).miss, { kind: 'files', text: 'files: app/a (metadata: xattrs: user.note added)' });
  const layers = await lastLayerXattrs('x:2', 2);
  assert.deepEqual(Object.fromEntries(layers.get('app/a') ?? []), { 'user.note': Buffer.from('x').toString('hex') });
  assert.equal(layers.size, 1, 'only app/a has attributes in the COPY layer');

  const again = await suite.env.build(ctx, ['-t', 'x:2']);
  assert.ok(cachedFlags(again.meta!).every(Boolean), 'an unchanged xattr hits');

  setfattr('-n', 'user.note', '-v', 'changed', join(ctx, 'app/a'));
  const changed = await suite.env.build(ctx);
  assert.match(changed.stderr, /#2 cache miss: files: app\/a \(metadata: xattrs: user\.note changed \("x" → "changed"\)\)\n/);

  setfattr('-n', 'user.other', '-v', '\\001', join(ctx, 'app/a'));
  setfattr('-x', 'user.note', join(ctx, 'app/a'));
  const removed = await suite.env.build(ctx);
  assert.match(removed.stderr, /#2 cache miss: files: app\/a \(metadata: xattrs: user\.note removed, user\.other added\)\n/);
  assert.ok(!cachedFlags(removed.meta!)[1]);

  // A binary value is not printed.
  setfattr('-n', 'user.other', '-v', '0x0203', join(ctx, 'app/a'));
  const binary = await suite.env.build(ctx);
  assert.match(binary.stderr, /#2 cache miss: files: app\/a \(metadata: xattrs: user\.other changed\)\n/);

  // Back to no attributes: the first build's record answers.
  setfattr('-x', 'user.other', join(ctx, 'app/a'));
  const reverted = await suite.env.build(ctx);
  assert.ok(cachedFlags(reverted.meta!).every(Boolean), 'the attribute-free context hits the first build');
});

test('the COPY layer holds user.* and security.capability (never printed) of context files, and the clone path does not drop them', async () => {
  const ctx = await suite.env.context('layer', { Dockerfile: 'FROM busybox:test\nCOPY app/ /app/\n', 'app/tool': '#!/bin/sh\n', 'app/plain': 'p\n' });
  const first = await suite.env.build(ctx, ['-t', 'l:1']);
  assert.equal(first.status, 0, first.stderr);
  assert.deepEqual(await lastLayerXattrs('l:1'), new Map());

  setfattr('-n', 'user.origin', '-v', 'ctx', join(ctx, 'app/tool'));
  // cap_net_raw+ep, as `setcap cap_net_raw+ep` writes it (VFS_CAP_REVISION_2).
  setfattr('-n', 'security.capability', '-v', '0x0100000200200000000000000000000000000000', join(ctx, 'app/tool'));
  await writeFile(join(ctx, 'app/plain'), 'p2\n');
  const r = await suite.env.build(ctx, ['-t', 'l:2']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /app\/tool \(metadata: xattrs: security\.capability added, user\.origin added\)/);
  assert.doesNotMatch(r.stderr, /0100000200200000/);
  const x = await lastLayerXattrs('l:2');
  assert.deepEqual([...x.keys()], ['app/tool']);
  assert.deepEqual(Object.fromEntries(x.get('app/tool')!), {
    'security.capability': '0100000200200000000000000000000000000000',
    'user.origin': Buffer.from('ctx').toString('hex'),
  });
});

test('a context tar on stdin (the path `wharf serve` unpacks too) brings its xattrs into the key and the layer; a bind mount of them works', async () => {
  const ctx = await suite.env.context('stdin', { Dockerfile: 'FROM busybox:test\nCOPY app/ /app/\nRUN --mount=type=bind,source=app,target=/m cat /m/a > /seen\n', 'app/a': 'a\n', 'app/skip': 's\n', '.dockerignore': 'app/skip\n' });
  setfattr('-n', 'user.note', '-v', 'from-tar', join(ctx, 'app/a'));
  setfattr('-n', 'user.note', '-v', 'ignored', join(ctx, 'app/skip'));
  const tar = execFileSync('tar', ['--xattrs', '--xattrs-include=user.*', '-C', ctx, '-cf', '-', '.']);
  const r = spawnSync(process.execPath, [wharfBin, '--root', suite.env.root, 'build', '--progress', 'plain', '-t', 's:1', '-'], { input: tar, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const x = await lastLayerXattrs('s:1', 2);
  assert.deepEqual([...x.keys()], ['app/a']);
  assert.deepEqual(Object.fromEntries(x.get('app/a')!), { 'user.note': Buffer.from('from-tar').toString('hex') });
});
