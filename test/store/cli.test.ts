import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { wharfBin } from '../helpers/paths.js';
import { openStore, type Store } from '../../src/store/index.js';
import { sha256Hex } from '../../src/hash/index.js';
import { writeTinyImage } from '../helpers/tiny-image.js';
import { parseImageName, type CommittedImage } from '../../src/image/index.js';

let dir: string;
let root: string;
let store: Store;
let app: CommittedImage;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-cli-'));
  root = join(dir, 'root');
  store = await openStore(root);
  app = await writeTinyImage(store, 'app:1', { epoch: 1_700_000_000 });
});
after(() => rm(dir, { recursive: true, force: true }));

function wharf(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('images lists tags like docker, as a table and as JSON lines', () => {
  const t = wharf('images');
  assert.equal(t.code, 0, t.err);
  const lines = t.out.trimEnd().split('\n');
  assert.match(lines[0]!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  const id = sha256Hex(app.id).slice(0, 12);
  assert.match(lines[1]!, new RegExp(`^app\\s+1\\s+${id}\\s+\\d+ \\w+ ago\\s+\\d+(\\.\\d+)?k?B$`));
  const j = wharf('images', '--format', 'json');
  assert.equal(j.code, 0, j.err);
  const rows = j.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  assert.deepEqual(
    rows.map((r) => [r.Repository, r.Tag, r.ID, r.CreatedAt]),
    [['app', '1', id, '2023-11-14 22:13:20 +0000 UTC']],
  );
  assert.equal(wharf('images', '--format', '{{.Nope}}').code, 1);
});

test('inspect prints docker-like JSON, by name or by ID prefix', () => {
  const r = wharf('inspect', 'app:1');
  assert.equal(r.code, 0, r.err);
  const [v] = JSON.parse(r.out) as Record<string, unknown>[];
  assert.equal(v!.Id, app.id);
  assert.deepEqual(v!.RepoTags, ['app:1']);
  assert.equal(v!.Created, '2023-11-14T22:13:20Z');
  assert.deepEqual((v!.Config as { Cmd: string[] }).Cmd, ['/bin/sh']);
  assert.deepEqual(v!.RootFS, { Type: 'layers', Layers: app.config.rootfs.diff_ids });
  assert.equal(v!.Size, app.manifest.layers[0]!.size + app.configDescriptor.size);
  const byId = wharf('inspect', sha256Hex(app.id).slice(0, 12));
  assert.equal(byId.code, 0, byId.err);
  assert.equal((JSON.parse(byId.out) as { Id: string }[])[0]!.Id, app.id);
});

test('unknown and invalid names are user errors with a hint, no stack', () => {
  // inspect looks for a container too (as docker's does), so it names neither kind.
  const r = wharf('inspect', 'nope:1');
  assert.equal(r.code, 1);
  assert.equal(r.err, 'error: no such image or container: nope:1\nhint: `wharf images` lists the images and `wharf ps -a` the containers\n');
  const hist = wharf('history', 'nope:1');
  assert.equal(hist.code, 1);
  assert.equal(hist.err, `error: image nope:1 not found in ${root}\nhint: build it or \`wharf import\`/\`wharf load\` it\n`);
  const bad = wharf('history', 'Bad Name');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^error: invalid reference "Bad Name"/);
  assert.doesNotMatch(bad.err, /\n\s+at /);
});

test('history shows steps newest first with the image ID on top', () => {
  const r = wharf('history', 'app:1');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  assert.match(lines[0]!, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
  assert.match(lines[1]!, new RegExp(`^${sha256Hex(app.id).slice(0, 12)}\\s+.*CMD \\["/bin/sh"\\]\\s+0B$`));
  assert.match(lines[2]!, /^<missing>\s+.*ADD rootfs.tar \/\s+\d+B$/);
});

test('tag, rmi and prune: untagging the last name collects its blobs', async () => {
  assert.equal(wharf('tag', 'app:1', 'registry:5000/team/app:2').code, 0);
  const tags = (await store.tags()).map((t) => t.name).sort();
  assert.deepEqual(tags, ['docker.io/library/app:1', 'registry:5000/team/app:2']);
  assert.equal(wharf('tag', 'app:1', 'x@sha256:' + 'a'.repeat(64)).code, 1);

  let r = wharf('rmi', 'app:1');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^Untagged: app:1\n$/, 'blobs still used by the other tag stay');
  assert.ok(await store.has(app.manifestDescriptor.digest));

  r = wharf('rmi', 'registry:5000/team/app:2', 'ghost:1');
  assert.equal(r.code, 1);
  assert.match(r.out, /Untagged: registry:5000\/team\/app:2\nDeleted 3 blob\(s\)/);
  assert.match(r.err, /image ghost:1 not found/);
  assert.equal(await store.has(app.manifestDescriptor.digest), false);

  const loose = await store.putBytes('x'.repeat(1500));
  r = wharf('prune');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Deleted 1 blob\(s\), 0 temp file\(s\)\nTotal reclaimed space: 1.5kB\n/);
  assert.equal(await store.has(loose.digest), false);
});

test('rmi by image ID: one tag goes, several need --force', async () => {
  const img = await writeTinyImage(store, 'byid:1', { label: 'byid' });
  const id = sha256Hex(img.id).slice(0, 12);
  assert.equal(wharf('rmi', id).code, 0);
  assert.equal(await store.resolve(parseImageName('byid:1')), undefined);
  await writeTinyImage(store, 'byid:1', { label: 'byid' });
  await writeTinyImage(store, 'byid:2', { label: 'byid' });
  let r = wharf('rmi', id);
  assert.equal(r.code, 1);
  assert.match(r.err, /it is tagged byid:1, byid:2\nhint: .*--force/);
  r = wharf('rmi', '-f', id);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Untagged: byid:1\nUntagged: byid:2\n/);
  assert.equal(await store.has(img.manifestDescriptor.digest), false);
});

test('fsck exits 0 on a clean store and 1 naming the damaged blob', async () => {
  const img = await writeTinyImage(store, 'checked:1');
  let r = wharf('fsck');
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /3 referenced blob\(s\) checked, 0 problem\(s\)/);
  await writeFile(store.path(img.manifest.layers[0]!.digest), 'garbage');
  r = wharf('fsck');
  assert.equal(r.code, 1);
  assert.match(r.out, new RegExp(`size-mismatch: blob ${img.manifest.layers[0]!.digest}`));
});
