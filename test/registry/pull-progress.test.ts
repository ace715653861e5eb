import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { humanBytes, progressBar } from '../../src/progress/index.js';

// Pull progress (tty, plain, a build's json events), `images --digests`, a build's pulls (all at
// once, COPY --from and RUN --mount=from= images, --platform) against a real docker-registry.
let dir: string;
let reg: TestRegistry;
let source: string;

const wharf = (root: string, args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });
const ok = (r: ReturnType<typeof wharf>) => assert.equal(r.status, 0, r.stdout + r.stderr);

/** Builds `FROM busybox:test` + one random file of `mb` MiB in the source store and pushes it with skopeo. */
async function pushRandomImage(name: string, mb: number): Promise<void> {
  const ctx = await writeContext(dir, `ctx-${name}`, { Dockerfile: `FROM busybox:test\nCOPY ${name} /${name}\n` });
  await writeFile(join(ctx, name), randomBytes(mb << 20));
  ok(wharf(source, ['build', '--progress', 'plain', '-t', `${name}:1`, ctx]));
  execFileSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${source}:${name}:1`, `docker://${reg.host}/test/${name}:1`]);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-pull-progress-'));
  reg = await startRegistry();
  source = join(dir, 'source');
  importBusyboxBase(dir, source);
  execFileSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${source}:busybox:test`, `docker://${reg.host}/library/busybox:latest`]);
  await pushRandomImage('big', 24);
  await pushRandomImage('small', 2);
});
after(async () => {
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface PullEv {
  type: string;
  image: string;
  state: string;
  digest: string;
  bytes: number;
  total: number;
}

test('sizes and bars as docker draws them', () => {
  assert.equal(humanBytes(12_345_678), '12.35MB');
  assert.equal(humanBytes(999), '999B');
  assert.equal(humanBytes(45_600_000), '45.6MB');
  assert.equal(progressBar(0, 100, 10), '[          ]');
  assert.equal(progressBar(50, 100, 10), '[====>     ]');
  assert.equal(progressBar(100, 100, 10), '[==========]');
});

test('wharf pull on a tty: per-layer Downloading bars redrawn in place; plain lines otherwise; images --digests', () => {
  const root = join(dir, 'tty');
  const cmd = `stty cols 120; ${process.execPath} ${wharfBin} --root ${root} pull ${reg.host}/test/big:1`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /[0-9a-f]{12}: Waiting/);
  assert.match(r.stdout, /[0-9a-f]{12}: Downloading \[=*>? *\] [\d.]+[kM]?B\/25\.17MB/, 'a bar with bytes of the 24 MiB layer');
  assert.match(r.stdout, /\x1b\[\d+A/, 'lines are redrawn in place (cursor up)');
  assert.match(r.stdout, /[0-9a-f]{12}: Pull complete/);
  assert.match(r.stdout, /Status: Downloaded newer image for 127\.0\.0\.1:\d+\/test\/big:1/);

  const plainRoot = join(dir, 'plain');
  const plain = wharf(plainRoot, ['pull', `${reg.host}/test/big:1`]);
  ok(plain);
  assert.doesNotMatch(plain.stdout, /Downloading|Waiting|\x1b/, 'no bars or escapes in a log');
  assert.equal(plain.stdout.match(/: Pull complete\n/g)?.length, 2, plain.stdout);

  const digest = /Digest: (sha256:[0-9a-f]{64})/.exec(plain.stdout)![1]!;
  ok(wharf(plainRoot, ['tag', `${reg.host}/test/big:1`, 'local:1']));
  const table = wharf(plainRoot, ['images', '--digests']);
  ok(table);
  const [head, ...rows] = table.stdout.trimEnd().split('\n');
  assert.match(head!, /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.ok(rows.some((l) => new RegExp(`^127\\.0\\.0\\.1:\\d+/test/big\\s+1\\s+${digest}\\s`).test(l)), table.stdout);
  assert.ok(rows.some((l) => /^local\s+1\s+<none>\s/.test(l)), 'a tag made locally has no registry digest');
  assert.doesNotMatch(wharf(plainRoot, ['images']).stdout, /DIGEST/);
});

test('a build pulls every image it needs at once, with pull events in --progress json; COPY --from and RUN --mount=from= images pull too', async () => {
  const root = join(dir, 'build');
  const ctx = await writeContext(dir, 'ctx-build', {
    Dockerfile: [
      `FROM ${reg.host}/test/big:1 AS a`,
      `FROM ${reg.host}/library/busybox:latest`,
      'COPY --from=a /big /big',
      `COPY --from=${reg.host}/test/small:1 /small /small`,
      `RUN --mount=from=${reg.host}/library/busybox:latest,target=/m test -x /m/bin/busybox && wc -c < /big > /size`,
      'CMD ["cat", "/size"]',
      '',
    ].join('\n'),
  });
  const r = wharf(root, ['build', '--progress', 'json', '-t', 'app:1', ctx]);
  ok(r);
  const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as PullEv);
  const pulls = events.filter((e) => e.type === 'pull');
  const resolved = (name: string) => pulls.findIndex((e) => e.state === 'resolved' && e.image.endsWith(name));
  const lastOf = (name: string) => pulls.map((e, i) => (e.image.endsWith(name) && e.state === 'verified' ? i : -1)).reduce((a, b) => Math.max(a, b));
  for (const n of ['test/big:1', 'library/busybox:latest', 'test/small:1']) assert.ok(resolved(n) >= 0, `${n} was pulled: ${JSON.stringify(pulls.map((p) => `${p.image} ${p.state}`))}`);
  // One stage at a time would finish big's 24 MiB layer before asking for the COPY --from image.
  assert.ok(resolved('test/small:1') < lastOf('test/big:1'), 'small was resolved while big was still downloading');
  const bigLayer = pulls.find((e) => e.image.endsWith('test/big:1') && e.state === 'verified' && e.total > 20 << 20)!;
  assert.ok(bigLayer, 'the big layer verified, with its size');
  assert.match(bigLayer.digest, /^sha256:[0-9a-f]{64}$/);
  const progress = pulls.filter((e) => e.digest === bigLayer.digest && e.state === 'downloading');
  assert.ok(progress.length >= 2 && progress.every((e) => e.bytes <= e.total && e.total === bigLayer.total), 'downloading events count bytes of total');
  assert.equal(wharf(root, ['run', '--rm', 'app:1']).stdout.trim(), String(24 << 20));

  const plain = wharf(join(dir, 'build-plain'), ['build', '--progress', 'plain', ctx]);
  ok(plain);
  assert.match(plain.stderr, /#pull 127\.0\.0\.1:\d+\/test\/big:1 resolved sha256:[0-9a-f]{64}\n/);
  assert.match(plain.stderr, /#pull 127\.0\.0\.1:\d+\/test\/big:1 [0-9a-f]{12} pull complete 25\.17MB\n/);
  ok(wharf(join(dir, 'build-plain'), ['fsck']));
});

test('build --platform picks that platform from an index; one the machine cannot run is refused', async () => {
  assert.equal(process.arch, 'x64', 'this test pairs amd64 with 386, which an amd64 host runs natively');
  const manifestOf = async (path: string) => {
    const res = await fetch(`http://${reg.host}/v2/${path}`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' } });
    return { mediaType: res.headers.get('content-type')!, digest: res.headers.get('docker-content-digest')!, size: Number(res.headers.get('content-length')) };
  };
  // Both children must live in the index's repository.
  execFileSync('skopeo', ['copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${reg.host}/library/busybox:latest`, `docker://${reg.host}/test/multi:amd64`]);
  execFileSync('skopeo', ['copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${reg.host}/test/small:1`, `docker://${reg.host}/test/multi:386`]);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { ...(await manifestOf('test/multi/manifests/amd64')), platform: { os: 'linux', architecture: 'amd64' } },
      { ...(await manifestOf('test/multi/manifests/386')), platform: { os: 'linux', architecture: '386' } },
    ],
  };
  const put = await fetch(`http://${reg.host}/v2/test/multi/manifests/latest`, { method: 'PUT', headers: { 'Content-Type': index.mediaType }, body: JSON.stringify(index) });
  assert.equal(put.status, 201, await put.text());

  const ctx = await writeContext(dir, 'ctx-platform', { Dockerfile: `FROM ${reg.host}/test/multi:latest\nRUN ls / > /listing\n` });
  const root = join(dir, 'platform');
  const layers = (name: string) => (JSON.parse(wharf(root, ['inspect', name]).stdout) as { RootFS: { Layers: string[] } }[])[0]!.RootFS.Layers.length;
  ok(wharf(root, ['build', '--progress', 'plain', '-t', 'host:1', ctx]));
  assert.equal(layers('host:1'), 2, 'busybox (the amd64 child) + RUN');
  ok(wharf(root, ['build', '--progress', 'plain', '--platform', 'linux/386', '-t', 'i386:1', ctx]));
  assert.equal(layers('i386:1'), 3, 'the 386 child (busybox + small) + RUN');
  assert.match(wharf(root, ['run', '--rm', 'i386:1', 'cat', '/listing']).stdout, /^small$/m);

  const refused = wharf(root, ['build', '--progress', 'plain', '--platform', 'linux/s390x', ctx]);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /--platform linux\/s390x: this machine \(linux\/amd64\) cannot run s390x programs/);
  assert.match(refused.stderr, /binfmt_misc/);
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
  ok(wharf(root, ['fsck']));
});
