import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { openStore, parseReference, type Store } from '../../src/store/index.js';
import { writeTinyImage, TINY_FILES } from '../helpers/tiny-image.js';
import type { CommittedImage } from '../../src/image/index.js';
import { createOciValidator } from '../helpers/oci-schema.js';

// skopeo and umoci come from scripts/ensure-host-packages.sh (run by scripts/run-tests.mjs).
let dir: string;
let store: Store;
let img: CommittedImage;
let nsImg: CommittedImage;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-clients-'));
  store = await openStore(join(dir, 'root'));
  img = await writeTinyImage(store, 'app:1');
  nsImg = await writeTinyImage(store, 'localhost:5000/ns/other:2', { label: 'other' });
});
after(() => rm(dir, { recursive: true, force: true }));

test('skopeo inspect reads a wharf store by oci:<root>:<name:tag>', () => {
  const out = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${store.root}:app:1`], { encoding: 'utf8' })) as { Digest: string; Labels: Record<string, string>; Layers: string[]; Architecture: string };
  assert.equal(out.Digest, img.manifestDescriptor.digest);
  assert.equal(out.Labels.test, 'tiny');
  assert.deepEqual(out.Layers, img.manifest.layers.map((l) => l.digest));
  assert.equal(out.Architecture, 'amd64');
  const other = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${store.root}:localhost:5000/ns/other:2`], { encoding: 'utf8' })) as { Digest: string };
  assert.equal(other.Digest, nsImg.manifestDescriptor.digest);
});

test('umoci unpack extracts exactly the files that were written', async () => {
  const bundle = join(dir, 'bundle');
  execFileSync('umoci', ['unpack', '--image', `${store.root}:app:1`, bundle], { stdio: 'pipe' });
  const rootfs = join(bundle, 'rootfs');
  assert.deepEqual((await readdir(rootfs)).sort(), ['etc', 'hello.txt']);
  for (const f of TINY_FILES) if (!f.dir) assert.equal(await readFile(join(rootfs, f.path), 'utf8'), f.content);
  const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { process: { args: string[] } };
  assert.deepEqual(config.process.args, ['/bin/sh']);
});

test('a tag skopeo adds to the store (ref.name only) is listed and resolvable by wharf', async () => {
  execFileSync('skopeo', ['copy', '-q', `oci:${store.root}:app:1`, `oci:${store.root}:copied:2`], { stdio: 'pipe' });
  const names = (await store.tags()).map((t) => t.name);
  assert.ok(names.includes('docker.io/library/copied:2'), names.join(', '));
  const r = parseReference('copied:2');
  assert.ok(r.ok);
  assert.equal((await store.resolve(r.value))?.digest, img.manifestDescriptor.digest);
  assert.ok(await store.removeTag(r.value));
});

test('index.json and oci-layout validate against the OCI schemas', async () => {
  const validate = createOciValidator();
  assert.deepEqual(validate('application/vnd.oci.image.index.v1+json', JSON.parse(await readFile(join(store.root, 'index.json'), 'utf8'))), []);
  assert.deepEqual(validate('application/vnd.oci.layout.header.v1+json', JSON.parse(await readFile(join(store.root, 'oci-layout'), 'utf8'))), []);
  assert.notDeepEqual(validate('application/vnd.oci.image.index.v1+json', { schemaVersion: 2, manifests: [{ digest: 'sha256:x' }] }), [], 'the validator does reject');
});

test('the store stays consistent after the tools read it', async () => {
  const r = await store.fsck();
  assert.deepEqual(r.problems, []);
  assert.equal((await store.tags()).length, 2);
});
