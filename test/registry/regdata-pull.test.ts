import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

// A real docker-registry on 127.0.0.1 (plain http), fed by skopeo from a wharf store; wharf pulls
// from it into empty stores. The registry start/stop is a private copy until test/helpers/registry.ts.
let dir: string;
let reg: TestRegistry;
let source: string;

const wharf = (root: string, args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });
const fsckClean = (root: string) => {
  const r = wharf(root, ['fsck']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-regdata-pull-'));
  reg = await startRegistry();
  source = join(dir, 'source');
  importBusyboxBase(dir, source);
  execFileSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${source}:busybox:test`, `docker://${reg.host}/library/busybox:latest`]);
});
after(async () => {
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

const skopeoDigest = (name: string) => (JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/${name}`], { encoding: 'utf8' })) as { Digest: string }).Digest;

test('wharf pull: an image skopeo pushed arrives verified, tagged with its RepoDigest, and runs', () => {
  const root = join(dir, 'pulled');
  const r = wharf(root, ['pull', `${reg.host}/library/busybox:latest`]);
  assert.equal(r.status, 0, r.stderr);
  const digest = skopeoDigest('library/busybox:latest');
  assert.match(r.stdout, /^latest: Pulling from library\/busybox\n[0-9a-f]{12}: Pull complete\n/);
  assert.ok(r.stdout.includes(`Digest: ${digest}\n`), r.stdout);
  assert.ok(r.stdout.endsWith(`${reg.host}/library/busybox:latest\n`));
  const [view] = JSON.parse(wharf(root, ['inspect', `${reg.host}/library/busybox`]).stdout) as { RepoDigests: string[]; Id: string }[];
  assert.deepEqual(view!.RepoDigests, [`${reg.host}/library/busybox@${digest}`]);
  const [orig] = JSON.parse(wharf(source, ['inspect', 'busybox:test']).stdout) as { Id: string }[];
  assert.equal(view!.Id, orig!.Id, 'the same config as the image that was pushed');
  const run = wharf(root, ['run', '--rm', `${reg.host}/library/busybox`, 'echo', 'pulled ok']);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, 'pulled ok\n');
  fsckClean(root);

  const again = wharf(root, ['pull', '-q', `${reg.host}/library/busybox:latest`]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout, `${reg.host}/library/busybox:latest\n`);
  const verbose = wharf(root, ['pull', `${reg.host}/library/busybox`]);
  assert.match(verbose.stdout, /Already exists\n/);
  assert.match(verbose.stdout, /Status: Image is up to date/);
});

test('wharf pull by digest checks the bytes against it', () => {
  const root = join(dir, 'by-digest');
  const digest = skopeoDigest('library/busybox:latest');
  const r = wharf(root, ['pull', `${reg.host}/library/busybox@${digest}`]);
  assert.equal(r.status, 0, r.stderr);
  const run = wharf(root, ['run', '--rm', `${reg.host}/library/busybox@${digest}`, 'true']);
  assert.equal(run.status, 0, run.stderr);
});

test('a multi-platform index: the host platform is picked, --platform picks another, a missing one lists what exists', async () => {
  // An index the test assembles from the manifest already in the registry, under two platforms.
  const res = await fetch(`http://${reg.host}/v2/library/busybox/manifests/latest`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' } });
  const child = { mediaType: res.headers.get('content-type')!, digest: res.headers.get('docker-content-digest')!, size: Number(res.headers.get('content-length')) };
  const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { ...child, platform: { os: 'linux', architecture: 'riscv64' } },
      { ...child, platform: { os: 'linux', architecture: hostArch } },
      { ...child, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    ],
  };
  const put = await fetch(`http://${reg.host}/v2/library/busybox/manifests/multi`, { method: 'PUT', headers: { 'Content-Type': index.mediaType }, body: JSON.stringify(index) });
  assert.equal(put.status, 201, await put.text());
  const indexDigest = put.headers.get('docker-content-digest')!;

  const root = join(dir, 'multi');
  const r = wharf(root, ['pull', `${reg.host}/library/busybox:multi`]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes(`Digest: ${indexDigest}\n`), 'the digest shown is the index, as docker shows it');
  const [view] = JSON.parse(wharf(root, ['inspect', `${reg.host}/library/busybox:multi`]).stdout) as { RepoDigests: string[] }[];
  assert.deepEqual(view!.RepoDigests, [`${reg.host}/library/busybox@${indexDigest}`]);

  const arm = wharf(join(dir, 'multi-arm'), ['pull', '--platform', 'linux/arm/v7', `${reg.host}/library/busybox:multi`]);
  assert.equal(arm.status, 0, arm.stderr);
  const none = wharf(join(dir, 'multi-none'), ['pull', '--platform', 'linux/s390x', `${reg.host}/library/busybox:multi`]);
  assert.equal(none.status, 1);
  assert.match(none.stderr, new RegExp(`no image for linux/s390x; it has: linux/riscv64, linux/${hostArch}, linux/arm/v7`));
});

test('a tag the registry lacks: "manifest unknown: NAME:TAG", nothing stored', () => {
  const root = join(dir, 'unknown');
  const r = wharf(root, ['pull', `${reg.host}/library/busybox:nosuch`]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^error: manifest unknown: ${reg.host.replace(/\./g, '\\.')}/library/busybox:nosuch\n`));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(wharf(root, ['images', '-q']).stdout, '');
});

test('build FROM a registry image from an empty store, then again with the registry stopped', async () => {
  const root = join(dir, 'build');
  const ctx = await writeContext(dir, 'ctx', { Dockerfile: `FROM ${reg.host}/library/busybox:latest\nRUN echo built > /made\nCMD ["cat", "/made"]\n` });
  const first = spawnSync(process.execPath, [wharfBin, '--root', root, 'build', '--progress', 'plain', '-t', 'app:1', ctx], { encoding: 'utf8' });
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /#pull .*library\/busybox:latest resolved sha256:/);
  assert.equal(wharf(root, ['run', '--rm', 'app:1']).stdout, 'built\n');
  await reg.stop();
  const offline = spawnSync(process.execPath, [wharfBin, '--root', root, 'build', '--progress', 'plain', '--no-cache', '-t', 'app:2', ctx], { encoding: 'utf8' });
  assert.equal(offline.status, 0, offline.stderr);
  assert.doesNotMatch(offline.stderr, /#pull/);
  assert.equal(wharf(root, ['run', '--rm', 'app:2']).stdout, 'built\n');
  const pullAgain = spawnSync(process.execPath, [wharfBin, '--root', root, 'build', '--progress', 'plain', '--pull', '-t', 'app:3', ctx], { encoding: 'utf8' });
  assert.equal(pullAgain.status, 1, '--pull asks the registry, which is gone');
  assert.match(pullAgain.stderr, /cannot connect to 127\.0\.0\.1:\d+ .*connection refused/);
  fsckClean(root);
});
