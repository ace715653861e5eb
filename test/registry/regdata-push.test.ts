import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

// wharf push to a real docker-registry (private start/stop until test/helpers/registry.ts), read
// back by skopeo and by wharf pull into an empty store.
let dir: string;
let reg: TestRegistry;
let root: string;
const wharf = (r: string, args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', r, ...args], { encoding: 'utf8' });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-regdata-push-'));
  reg = await startRegistry();
  root = join(dir, 'store');
  importBusyboxBase(dir, root);
});
after(async () => {
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('wharf push of a wharf-built gzip image: docker schema2, skopeo reads the same digest, a second store pulls and runs it', async () => {
  const ctx = await writeContext(dir, 'ctx', { Dockerfile: 'FROM busybox:test\nRUN echo pushed > /msg\nCMD ["cat", "/msg"]\n' });
  const name = `${reg.host}/team/app:1`;
  const b = wharf(root, ['build', '--progress', 'plain', '--compression', 'gzip', '-t', name, ctx]);
  assert.equal(b.status, 0, b.stderr);
  const r = wharf(root, ['push', name]);
  assert.equal(r.status, 0, r.stderr);
  const m = /^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  const info = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as { Digest: string; Layers: string[] };
  assert.equal(info.Digest, m[1]);
  const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as { mediaType: string; layers: { mediaType: string }[] };
  assert.equal(raw.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.ok(raw.layers.every((l) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip'));

  const again = wharf(root, ['push', name]);
  assert.equal(again.status, 0, again.stderr);
  assert.ok(again.stdout.includes(`1: digest: ${m[1]} size: ${m[2]}`), 'the same digest the second time');

  const other = join(dir, 'other');
  const p = wharf(other, ['pull', name]);
  assert.equal(p.status, 0, p.stderr);
  assert.equal(wharf(other, ['run', '--rm', name]).stdout, 'pushed\n');
  const [view] = JSON.parse(wharf(other, ['inspect', name]).stdout) as { RepoDigests: string[] }[];
  assert.deepEqual(view!.RepoDigests, [`${reg.host}/team/app@${m[1]}`]);
});

test('an image with uncompressed layers is pushed (gzip-compressed for the wire) and pulls back', async () => {
  const ctx = await writeContext(dir, 'ctx2', { Dockerfile: 'FROM busybox:test\nRUN echo plain > /msg\n' });
  const name = `${reg.host}/team/plain:1`;
  assert.equal(wharf(root, ['build', '--progress', 'plain', '-t', name, ctx]).status, 0);
  const r = wharf(root, ['push', '-q', name]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${name}\n`);
  const other = join(dir, 'other2');
  assert.equal(wharf(other, ['pull', '-q', name]).status, 0);
  assert.equal(wharf(other, ['run', '--rm', name, 'cat', '/msg']).stdout, 'plain\n');
});

test('zstd layers are pushed as they are stored and pulled back', async () => {
  const ctx = await writeContext(dir, 'ctx3', { Dockerfile: 'FROM busybox:test\nRUN echo zstd > /msg\n' });
  const name = `${reg.host}/team/zstd:1`;
  assert.equal(wharf(root, ['build', '--progress', 'plain', '--compression', 'zstd', '-t', name, ctx]).status, 0);
  assert.equal(wharf(root, ['push', name]).status, 0);
  const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as { layers: { mediaType: string }[] };
  assert.equal(raw.layers.at(-1)!.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
  const other = join(dir, 'other3');
  const p = wharf(other, ['pull', name]);
  assert.equal(p.status, 0, p.stderr);
  assert.equal(wharf(other, ['run', '--rm', name, 'cat', '/msg']).stdout, 'zstd\n');
});

test('pushing an image the store lacks, or to a digest, is refused with a hint', () => {
  const r = wharf(root, ['push', `${reg.host}/nope:1`]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /image .*nope:1 not found/);
  const d = wharf(root, ['push', `${reg.host}/team/app@sha256:${'a'.repeat(64)}`]);
  assert.equal(d.status, 1);
  assert.match(d.stderr, /push a tag, not a digest/);
});
