import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store, chainId } from '../../src/store/index.js';
import { sha256Of, type Sha256 } from '../../src/hash/index.js';
import {
  addEmptyHistory,
  addLayer,
  commitImage,
  fromImage,
  imageTimestamp,
  loadImage,
  scratchImage,
  updateContainerConfig,
  MEDIA_TYPE_MANIFEST,
  type ImageConfig,
} from '../../src/image/index.js';
import { MEDIA_TYPE_LAYER_GZIP } from '../../src/image/types.js';
import { createOciValidator } from '../helpers/oci-schema.js';
import { writeTinyImage } from '../helpers/tiny-image.js';

let dir: string;
let store: Store;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-image-'));
  store = await openStore(join(dir, 'root'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('SOURCE_DATE_EPOCH sets created and history time to that instant, RFC 3339 as Go prints it', () => {
  assert.equal(imageTimestamp(0), '1970-01-01T00:00:00Z');
  assert.equal(imageTimestamp(1_700_000_000), '2023-11-14T22:13:20Z');
  assert.equal(imageTimestamp(undefined, new Date('2024-01-02T03:04:05.678Z')), '2024-01-02T03:04:05.678Z');
});

test('a full docker-style config and its manifest validate against the OCI schemas', async () => {
  const layerBytes = Buffer.from('pretend gzip');
  const blob = await store.putBytes(layerBytes);
  const diffId = sha256Of('pretend tar');
  const created = imageTimestamp(1_700_000_000);
  let d = scratchImage({ architecture: 'arm64', os: 'linux', variant: 'v8' });
  d = addLayer(d, { descriptor: { mediaType: MEDIA_TYPE_LAYER_GZIP, ...blob }, diffId }, { created, created_by: 'RUN make' });
  d = updateContainerConfig(d, {
    User: '1000:1000',
    Env: ['PATH=/usr/bin:/bin', 'EMPTY='],
    Entrypoint: ['/entry'],
    Cmd: ['serve', '--port', '80'],
    WorkingDir: '/app',
    ExposedPorts: { '80/tcp': {}, '53/udp': {} },
    Volumes: { '/data': {} },
    Labels: { 'org.example': 'yes' },
    StopSignal: 'SIGTERM',
    Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30e9, Timeout: 5e9, Retries: 3 },
    OnBuild: ['RUN echo child'],
    Shell: ['/bin/bash', '-c'],
  });
  d = addEmptyHistory(d, { created, created_by: 'EXPOSE 80/tcp 53/udp' });
  const img = await commitImage(store, d, { created, author: 'tester' });

  const validate = createOciValidator();
  const config = await store.readJSON<ImageConfig>(img.configDescriptor.digest, img.configDescriptor.size);
  assert.deepEqual(validate('application/vnd.oci.image.config.v1+json', config), []);
  assert.deepEqual(validate(MEDIA_TYPE_MANIFEST, await store.readJSON(img.manifestDescriptor.digest)), []);
  assert.equal(img.id, img.configDescriptor.digest);
  assert.equal(config.created, created);
  assert.deepEqual(config.rootfs.diff_ids, [diffId]);
  assert.deepEqual(config.history, [
    { created, created_by: 'RUN make' },
    { created, created_by: 'EXPOSE 80/tcp 53/udp', empty_layer: true },
  ]);
  assert.deepEqual(config.config?.Healthcheck?.Test, ['CMD-SHELL', 'true']);
  assert.equal(config.variant, 'v8');
});

test('the same inputs and SOURCE_DATE_EPOCH give the same image ID; another epoch a different one', async () => {
  const a = await writeTinyImage(store, 'same:a', { epoch: 1000 });
  const b = await writeTinyImage(store, 'same:b', { epoch: 1000 });
  const c = await writeTinyImage(store, 'same:c', { epoch: 2000 });
  assert.equal(a.id, b.id);
  assert.equal(a.manifestDescriptor.digest, b.manifestDescriptor.digest);
  assert.notEqual(a.id, c.id);
});

test('fromImage continues a base; updateContainerConfig removes fields given as undefined', async () => {
  const base = await writeTinyImage(store, 'base:1');
  const loaded = await loadImage(store, 'base:1');
  assert.equal(loaded.id, base.id);
  let d = fromImage(loaded.config, loaded.manifest.layers);
  d = updateContainerConfig(d, { Cmd: undefined, Entrypoint: ['/x'] });
  assert.equal(d.config.config?.Cmd, undefined);
  assert.deepEqual(d.config.config?.Entrypoint, ['/x']);
  assert.deepEqual(d.config.config?.Env, loaded.config.config?.Env);
  assert.equal(chainId(d.config.rootfs.diff_ids as Sha256[]), loaded.config.rootfs.diff_ids[0]);
  assert.throws(() => fromImage(loaded.config, []), /diff_ids/);
});

test('loading an unknown name says where it looked and what to do', async () => {
  await assert.rejects(loadImage(store, 'nope:1'), (e: Error & { hint?: string }) => {
    assert.match(e.message, new RegExp(`image nope:1 not found in ${store.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(e.hint ?? '', /wharf import/);
    return true;
  });
  await assert.rejects(loadImage(store, 'Bad:1'), /lowercase/);
});
