import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { cachedFlags, wharfBuildEnv, type WharfBuildEnv } from '../helpers/wharf-build.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startCountingProxy } from '../helpers/counting-proxy.js';
import { sha256Hex } from '../../src/hash/index.js';

// --cache-to / --cache-from end to end: two stores on one machine stand for two CI runners that
// start from the same base image; a local OCI layout or a real registry carries the cache.
let dir: string;
let runnerA: WharfBuildEnv;
let baseTar: string;
let registry: TestRegistry;
const SDE = '1700000000';

// The builder stage's RUN makes a 300 KB layer only the builder has: a lazy import never fetches it.
const DOCKERFILE = `FROM busybox:test AS builder
RUN echo built > /b && dd if=/dev/zero of=/big bs=1k count=300 2>/dev/null
COPY a.txt /a.txt
FROM busybox:test
COPY --from=builder /b /b
RUN cat /b > /c
COPY last.txt /x
`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-cache-share-'));
  await mkdir(join(dir, 'a'));
  runnerA = wharfBuildEnv(join(dir, 'a'));
  runnerA.importBusybox();
  baseTar = join(dir, 'busybox.tar');
  assert.equal(runnerA.wharf(['save', '-o', baseTar, 'busybox:test']).status, 0);
  registry = await startRegistry();
});

after(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

let runners = 0;
/** A fresh runner: an empty store holding only the same busybox:test as runner A. */
async function freshRunner(): Promise<WharfBuildEnv> {
  const d = join(dir, `runner-${++runners}`);
  await mkdir(d);
  const env = wharfBuildEnv(d);
  const r = env.wharf(['load', '-i', baseTar]);
  assert.equal(r.status, 0, r.stderr);
  return env;
}

/** A fresh checkout of the app (new mtimes), with `last` as the file the final step copies. */
async function checkout(env: WharfBuildEnv, name: string, last = 'one\n'): Promise<string> {
  return env.context(name, { Dockerfile: DOCKERFILE, 'a.txt': 'hello\n', 'last.txt': last });
}

async function build(env: WharfBuildEnv, ctx: string, extra: string[]) {
  process.env.SOURCE_DATE_EPOCH = SDE;
  try {
    const r = await env.build(ctx, extra);
    assert.equal(r.status, 0, r.stderr);
    return { stderr: r.stderr, meta: r.meta!, id: r.meta!['containerimage.config.digest'] };
  } finally {
    delete process.env.SOURCE_DATE_EPOCH;
  }
}

const hasBlob = (env: WharfBuildEnv, digest: string) => existsSync(join(env.root, 'blobs', 'sha256', digest.replace('sha256:', '')));
const fetchedLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('cache: fetched layer'));

/** The builder's big layer: the layer of its RUN in runner A's cache export. */
async function builderRunLayer(cacheDir: string): Promise<string> {
  const index = JSON.parse(await readFile(join(cacheDir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(await readFile(join(cacheDir, 'blobs', 'sha256', sha256Hex(index.manifests[0]!.digest as never)), 'utf8')) as { config: { digest: string } };
  const config = JSON.parse(await readFile(join(cacheDir, 'blobs', 'sha256', sha256Hex(manifest.config.digest as never)), 'utf8')) as { records: { layer: { digest: string; size: number }; material: { op: { kind: string; command?: { shell?: string } } } }[] };
  const rec = config.records.find((r) => r.material.op.kind === 'RUN' && r.material.op.command?.shell?.includes('dd if'));
  assert.ok(rec, 'the export holds the builder RUN (mode=max)');
  assert.ok(rec.layer.size > 300 * 1024);
  return rec.layer.digest;
}

test('type=local mode=max: a fresh runner hits every step, fetches only the result\'s layers, and gets the same image ID', async () => {
  const cacheDir = join(dir, 'cache-max');
  const a = await build(runnerA, await checkout(runnerA, 'app-a'), ['-t', 'app:1', '--cache-to', `type=local,dest=${cacheDir},mode=max`]);
  assert.match(a.stderr, /cache: exported 5 records to type=local/);
  const big = await builderRunLayer(cacheDir);

  const b = await freshRunner();
  const r = await build(b, await checkout(b, 'app-b'), ['-t', 'app:1', '--cache-from', `type=local,src=${cacheDir}`]);
  assert.deepEqual(cachedFlags(r.meta), [true, true, true, true, true, true, true], r.stderr);
  assert.doesNotMatch(r.stderr, /DONE/, 'no step executed');
  assert.equal(r.id, a.id);
  // Lazy: the final stage's three layers came over; the builder's (only a key input here) did not.
  assert.equal(fetchedLines(r.stderr).length, 3, r.stderr);
  assert.match(r.stderr, /7\/7 cached, 3 cached layers \(\d+ bytes\) fetched from the cache source/);
  assert.equal(hasBlob(b, big), false);
  const fsck = b.wharf(['fsck']);
  assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
  assert.match(fsck.stdout, /0 problem/);
  // The imported records whose layers arrived are now the runner's own.
  const again = await build(b, await checkout(b, 'app-b2'), ['-t', 'app:1']);
  assert.deepEqual(cachedFlags(again.meta).slice(4), [true, true, true]);
});

test('a changed last step on the fresh runner runs only that step and fetches only the layers under it', async () => {
  const cacheDir = join(dir, 'cache-max');
  const big = await builderRunLayer(cacheDir);
  const b = await freshRunner();
  const r = await build(b, await checkout(b, 'app-changed', 'two\n'), ['-t', 'app:2', '--cache-from', `type=local,src=${cacheDir}`]);
  assert.deepEqual(cachedFlags(r.meta), [true, true, true, true, true, true, false], r.stderr);
  // The changed COPY needs the filesystem of COPY --from and RUN below it: those two, nothing else.
  assert.equal(fetchedLines(r.stderr).length, 2, r.stderr);
  assert.equal(hasBlob(b, big), false);
});

test('mode=min exports only the final image\'s steps: the builder stage runs again on a fresh runner, unlike mode=max', async () => {
  const cacheDir = join(dir, 'cache-min');
  const a = await build(runnerA, await checkout(runnerA, 'app-a-min'), ['--cache-to', `type=local,dest=${cacheDir},mode=min`]);
  assert.match(a.stderr, /cache: exported 3 records/);
  const b = await freshRunner();
  const r = await build(b, await checkout(b, 'app-b-min'), ['-t', 'app:1', '--cache-from', `type=local,src=${cacheDir}`]);
  // builder: FROM, RUN, COPY run; the final stage (keyed on the builder's keys, not its bytes) hits.
  assert.deepEqual(cachedFlags(r.meta), [true, false, false, true, true, true, true], r.stderr);
  assert.equal(r.id, a.id);
});

test('type=registry: runner A exports to a real registry, a fresh runner imports and hits every step', async () => {
  const ref = `${registry.host}/ci/app:buildcache`;
  const a = await build(runnerA, await checkout(runnerA, 'app-a-reg'), ['--cache-to', `type=registry,ref=${ref},mode=max`]);
  assert.match(a.stderr, /cache: exported 5 records to type=registry/);
  const b = await freshRunner();
  const r = await build(b, await checkout(b, 'app-b-reg'), ['-t', 'app:1', '--cache-from', `type=registry,ref=${ref}`]);
  assert.deepEqual(cachedFlags(r.meta), [true, true, true, true, true, true, true], r.stderr);
  assert.equal(r.id, a.id);
  assert.equal(fetchedLines(r.stderr).length, 3, r.stderr);
  // A plain --cache-from IMAGE names a registry cache too; a second export sends no layer again.
  const again = await build(runnerA, await checkout(runnerA, 'app-a-reg2'), ['--cache-from', ref, '--cache-to', `type=registry,ref=${ref},mode=max`]);
  assert.match(again.stderr, /cache: 5 records from type=registry/);
  assert.match(again.stderr, /exported 5 records .* \(0 layers, 0 bytes written\)/);
  // Re-exported by an untagged all-hit build to another repository of that registry: the layers
  // are mounted there, none is downloaded or uploaded, and a third runner hits every step from it.
  const other = `${registry.host}/ci/other:buildcache`;
  const c = await freshRunner();
  const moved = await build(c, await checkout(c, 'app-c-reg'), ['--cache-from', ref, '--cache-to', `type=registry,ref=${other},mode=max`]);
  assert.equal(fetchedLines(moved.stderr).length, 0, moved.stderr);
  assert.match(moved.stderr, /exported 5 records to .*other:buildcache \(0 layers, 0 bytes written, 5 mounted from the source repository\)/);
  const d = await freshRunner();
  const fromOther = await build(d, await checkout(d, 'app-d-reg'), ['-t', 'app:1', '--cache-from', `type=registry,ref=${other}`]);
  assert.deepEqual(cachedFlags(fromOther.meta), [true, true, true, true, true, true, true], fromOther.stderr);
  assert.equal(fromOther.id, a.id);
});

test('build --push to the cache\'s registry mounts the cached layers from the cache repository: none is downloaded or uploaded again', async () => {
  // Every request goes through a counting proxy in front of the real registry. The push sends
  // gzip layers, so a cache exported with compression=gzip holds the very blobs it needs.
  const proxy = await startCountingProxy(registry.port);
  try {
    const ref = `${proxy.host}/ci/mount:buildcache`;
    await build(runnerA, await checkout(runnerA, 'app-a-mount'), ['--cache-to', `type=registry,ref=${ref},mode=max,compression=gzip`]);
    const cacheLayers = await registryCacheLayers(proxy.host, 'ci/mount', 'buildcache');
    await proxy.reset();
    const b = await freshRunner();
    const pushed = `${proxy.host}/ci/pushed:1`;
    const r = await build(b, await checkout(b, 'app-b-mount'), ['-t', pushed, '--push', '--cache-from', `type=registry,ref=${ref}`]);
    assert.deepEqual(cachedFlags(r.meta), [true, true, true, true, true, true, true], r.stderr);
    const stats = await proxy.stats();
    // Not one layer crossed the wire: the only blob downloaded is the cache's config.
    assert.equal(fetchedLines(r.stderr).length, 0, r.stderr);
    assert.deepEqual(stats.downloaded.filter((d) => cacheLayers.includes(d)), [], JSON.stringify(stats));
    assert.equal(stats.downloaded.length, 1, JSON.stringify(stats));
    // The final stage's three cached layers were mounted into the pushed repository, not uploaded.
    const mountedCacheLayers = stats.mounted.filter((d) => cacheLayers.includes(d));
    assert.equal(mountedCacheLayers.length, 3, JSON.stringify(stats));
    for (const d of mountedCacheLayers) assert.ok(!stats.uploaded.includes(d), `${d} not uploaded: ${JSON.stringify(stats)}`);
    // Only what the cache repository lacks is sent: busybox's layer and the image config.
    assert.ok(stats.uploaded.length <= 2, JSON.stringify(stats));
    // The runner does not hold the image (its layers are only in the registry), and says so.
    assert.match(r.stderr, /not stored here: layers of .*ci\/pushed:1 hit the cache and stay in the registry/);
    assert.notEqual(b.wharf(['inspect', pushed]).status, 0);
    const fsck = b.wharf(['fsck']);
    assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
    // The pushed image pulls on another runner and runs.
    const c = await freshRunner();
    const pull = c.wharf(['pull', pushed]);
    assert.equal(pull.status, 0, pull.stderr);
    const run = c.wharf(['run', pushed, 'cat', '/c', '/x']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'built\none\n');
  } finally {
    await proxy.stop();
  }
});

/** The layer digests a registry cache manifest lists. */
async function registryCacheLayers(host: string, repo: string, tag: string): Promise<string[]> {
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(res.status, 200);
  const m = (await res.json()) as { layers: { digest: string }[] };
  return m.layers.map((l) => l.digest);
}

test('a missing or unreachable cache source is a warning; a corrupt one is refused whole and the build goes on', async () => {
  const b = await freshRunner();
  const ctx = await checkout(b, 'app-warn');
  const missing = await build(b, ctx, ['--cache-from', `type=local,src=${join(dir, 'no-such-cache')}`, '--cache-from', `type=registry,ref=${registry.host}/ci/app:never-pushed`, '--cache-from', 'type=registry,ref=127.0.0.1:9/ci/app:c']);
  assert.match(missing.stderr, /warning: cache source type=local,src=.*no-such-cache ignored: it has no cache yet/);
  assert.match(missing.stderr, /warning: cache source type=registry,ref=.*never-pushed ignored: it has no cache yet/);
  assert.match(missing.stderr, /warning: cache source type=registry,ref=127\.0\.0\.1:9\/ci\/app:c ignored: .*127\.0\.0\.1:9/);

  // A config blob whose bytes no longer match its digest: refused, no record of it used.
  const bad = join(dir, 'cache-corrupt');
  await cp(join(dir, 'cache-max'), bad, { recursive: true });
  const index = JSON.parse(await readFile(join(bad, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(await readFile(join(bad, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { config: { digest: string } };
  const cfgPath = join(bad, 'blobs', 'sha256', manifest.config.digest.slice(7));
  const cfg = await readFile(cfgPath, 'utf8');
  assert.ok(cfg.includes('"mode":"max"'));
  await writeFile(cfgPath, cfg.replace('"mode":"max"', '"mode":"mix"'));
  const b2 = await freshRunner();
  const r = await build(b2, await checkout(b2, 'app-corrupt'), ['--cache-from', `type=local,src=${bad}`]);
  assert.match(r.stderr, /warning: cache source type=local,src=.*cache-corrupt ignored: .*does not match its digest/);
  assert.deepEqual(cachedFlags(r.meta), [true, false, false, true, false, false, false]);
  assert.doesNotMatch(r.stderr, /cache: fetched/);

  // A record that claims a key its material does not give (digests all consistent): refused too.
  const forged = join(dir, 'cache-forged');
  await cp(join(dir, 'cache-max'), forged, { recursive: true });
  const { createHash } = await import('node:crypto');
  const sha = (b: string) => createHash('sha256').update(b).digest('hex');
  const fcfg = JSON.parse(cfg) as { records: { key: string }[] };
  fcfg.records[0]!.key = `sha256:${'0'.repeat(64)}`;
  const fcfgText = JSON.stringify(fcfg);
  await writeFile(join(forged, 'blobs', 'sha256', sha(fcfgText)), fcfgText);
  const fman = JSON.parse(await readFile(join(forged, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { config: { digest: string; size: number } };
  fman.config = { ...fman.config, digest: `sha256:${sha(fcfgText)}`, size: Buffer.byteLength(fcfgText) };
  const fmanText = JSON.stringify(fman);
  await writeFile(join(forged, 'blobs', 'sha256', sha(fmanText)), fmanText);
  await writeFile(join(forged, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(fmanText)}`, size: Buffer.byteLength(fmanText), annotations: { 'org.opencontainers.image.ref.name': 'cache' } }] }));
  const f = await build(await freshRunner(), ctx, ['--cache-from', `type=local,src=${forged}`]);
  assert.match(f.stderr, /ignored: .*record 0 has a key that is not the digest of its key material/);

  // A symlinked blob is not followed.
  const linked = join(dir, 'cache-linked');
  await cp(join(dir, 'cache-max'), linked, { recursive: true });
  await rm(join(linked, 'index.json'));
  const { symlink } = await import('node:fs/promises');
  await symlink('/etc/passwd', join(linked, 'index.json'));
  const l = await build(await freshRunner(), ctx, ['--cache-from', `type=local,src=${linked}`]);
  assert.match(l.stderr, /ignored: .*index\.json: is a symlink/);
});

test('a bad --cache-to / --cache-from spec names the option and the field, with an example', async () => {
  const ctx = await checkout(runnerA, 'app-bad-spec');
  const cases: [string[], RegExp][] = [
    [['--cache-to', 'type=local'], /--cache-to type=local: give dest=\n.*write it as --cache-to type=local,dest=/],
    [['--cache-to', 'type=s3,bucket=x'], /--cache-to type=s3,bucket=x: type=s3: this wharf exports to type=local, type=registry and type=inline/],
    [['--cache-to', 'type=local,dest=x,mode=all'], /--cache-to .*: mode=all: use mode=min .* or mode=max/],
    [['--cache-from', 'type=local,dest=x'], /--cache-from type=local,dest=x: unknown field dest \(this type takes type, src\)\n.*--cache-from type=local,src=/],
    [['--cache-from', 'type=registry,ref=Bad Ref'], /--cache-from ref=Bad Ref: /],
  ];
  for (const [flags, want] of cases) {
    const r = runnerA.wharf(['build', ...flags, ctx]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, want);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('a cache export never holds a secret value or anything of a secret or ssh mount, compressed or not', async () => {
  const marker = `s3cret-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const secretFile = join(dir, 'secret.txt');
  await writeFile(secretFile, marker);
  const sockDir = join(dir, `agent-${marker}`);
  await mkdir(sockDir);
  const agent = join(sockDir, 'a.sock');
  const server: Server = createServer((c) => c.end(`${marker}-agent\n`));
  await new Promise<void>((r) => server.listen(agent, r));
  try {
    const ctx = await runnerA.context('app-secret', {
      Dockerfile: `FROM busybox:test
RUN --mount=type=secret,id=x grep -q s3cret /run/secrets/x && sha256sum /run/secrets/x | wc -c > /used
RUN --mount=type=secret,id=x,env=TOKEN --mount=type=ssh [ -n "$TOKEN" ] && [ -S "$SSH_AUTH_SOCK" ] && echo ok > /listing
RUN --mount=type=secret,id=x,target=/etc/tok cat /etc/tok | wc -c > /n
`,
    });
    for (const compression of ['none', 'gzip']) {
      const out = join(dir, `cache-secret-${compression}`);
      process.env.SSH_AUTH_SOCK = agent;
      const r = runnerA.wharf(['build', '--progress', 'plain', '--no-cache', '--compression', compression, '--secret', `id=x,src=${secretFile}`, '--ssh', 'default', '--cache-to', `type=local,dest=${out},mode=max`, ctx]);
      delete process.env.SSH_AUTH_SOCK;
      assert.equal(r.status, 0, r.stderr);
      const names = await readdir(join(out, 'blobs', 'sha256'));
      assert.ok(names.length >= 5, 'config, manifest and three layers');
      let gzipped = 0;
      for (const name of [...names, '../../index.json']) {
        const bytes = await readFile(join(out, 'blobs', 'sha256', name));
        const isGzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
        if (isGzip) gzipped++;
        const plain = isGzip ? gunzipSync(bytes) : bytes;
        assert.equal(plain.includes(marker), false, `${name} holds the secret or the agent's path`);
      }
      // The layers of the gzip build were read uncompressed; the other build's are plain tars.
      assert.equal(gzipped, compression === 'gzip' ? 3 : 0);
    }
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('type=inline: records in the pushed image\'s config; a plain --cache-from IMAGE on a fresh runner hits the final stage with the same image ID', async () => {
  const image = `${registry.host}/ci/inline:1`;
  const a = await build(runnerA, await checkout(runnerA, 'app-a-inline'), ['-t', image, '--cache-to', 'type=inline']);
  const push = runnerA.wharf(['push', image]);
  assert.equal(push.status, 0, push.stderr);
  const b = await freshRunner();
  const r = await build(b, await checkout(b, 'app-b-inline'), ['-t', 'app:1', '--cache-from', image, '--cache-to', 'type=inline']);
  // Inline holds the image's own steps (mode=min): the builder stage runs, the final stage hits.
  assert.deepEqual(cachedFlags(r.meta), [true, false, false, true, true, true, true], r.stderr);
  assert.equal(r.id, a.id);
  // An image built on it does not inherit its records; an image without them is refused as a source.
  const child = await b.context('child-of-inline', { Dockerfile: 'FROM app:1\nRUN echo child > /child\n' });
  await build(b, child, ['-t', `${registry.host}/ci/plain:1`]);
  assert.equal(b.wharf(['push', `${registry.host}/ci/plain:1`]).status, 0);
  const c = await build(await freshRunner(), await checkout(b, 'app-c'), ['--cache-from', `${registry.host}/ci/plain:1`]);
  assert.match(c.stderr, /warning: cache source type=registry,ref=.*plain:1 ignored: an image without inline cache records/);
});

test('--cache-to a registry that cannot be reached fails the build, naming the host', async () => {
  const r = runnerA.wharf(['build', '--progress', 'plain', '--cache-to', 'type=registry,ref=127.0.0.1:9/ci/app:c', await checkout(runnerA, 'app-unreachable')]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /error: .*127\.0\.0\.1:9/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('a damaged layer in a cache source stops the build with a message naming it; the store stays consistent', async () => {
  const bad = join(dir, 'cache-bad-layer');
  await cp(join(dir, 'cache-max'), bad, { recursive: true });
  // The final stage's last COPY layer: every fresh build with -t fetches it.
  const b = await freshRunner();
  const ok = await build(b, await checkout(b, 'app-probe'), ['--cache-from', `type=local,src=${join(dir, 'cache-max')}`, '-t', 'probe:1']);
  const digest = fetchedLines(ok.stderr).map((l) => /layer ([0-9a-f]{12})/.exec(l)![1]!)[0]!;
  const name = (await readdir(join(bad, 'blobs', 'sha256'))).find((n) => n.startsWith(digest))!;
  const bytes = await readFile(join(bad, 'blobs', 'sha256', name));
  bytes[100] = bytes[100]! ^ 1;
  await writeFile(join(bad, 'blobs', 'sha256', name), bytes);
  const c = await freshRunner();
  const ctx = await checkout(c, 'app-bad-layer');
  process.env.SOURCE_DATE_EPOCH = SDE;
  const r = c.wharf(['build', '--progress', 'plain', '-t', 'app:1', '--cache-from', `type=local,src=${bad}`, ctx]);
  delete process.env.SOURCE_DATE_EPOCH;
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`error: type=local,src=.*cache-bad-layer: layer sha256:${digest}[0-9a-f]+ failed verification`));
  assert.match(r.stderr, /hint: nothing from it was stored/);
  assert.equal(existsSync(join(c.root, 'blobs', 'sha256', name)), false);
  const fsck = c.wharf(['fsck']);
  assert.match(fsck.stdout, /0 problem/);
  assert.deepEqual(await readdir(join(c.root, 'tmp')), []);
});

test('cache-mounts=true: a RUN --mount=type=cache directory of runner A is there on a fresh runner; past cache-mounts-max the largest is left out', async () => {
  const ctx = await runnerA.context('mounts-a', {
    Dockerfile: `FROM busybox:test
RUN --mount=type=cache,id=pkgs,target=/var/cache/pkgs echo fromA > /var/cache/pkgs/index && mkdir -p /var/cache/pkgs/d && echo deep > /var/cache/pkgs/d/f
RUN --mount=type=cache,target=/big dd if=/dev/zero of=/big/blob bs=1k count=64 2>/dev/null
`,
  });
  const out = join(dir, 'cache-mounts');
  const a = runnerA.wharf(['build', '--progress', 'plain', '--cache-to', `type=local,dest=${out},cache-mounts=true`, ctx]);
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stderr, /exported 2 records and 2 cache mounts/);
  const b = await freshRunner();
  // Another step (a miss) on runner B reads what runner A's step left in the mount.
  const ctxB = await b.context('mounts-b', { Dockerfile: 'FROM busybox:test\nRUN --mount=type=cache,id=pkgs,target=/c cat /c/index /c/d/f > /got\n' });
  const r = b.wharf(['build', '--progress', 'plain', '-t', 'got:1', '--cache-from', `type=local,src=${out}`, ctxB]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /cache: \d+ records from type=local.*, 2 cache mounts restored/);
  assert.equal(b.wharf(['run', '--rm', 'got:1', 'cat', '/got']).stdout, 'fromA\ndeep\n');
  assert.deepEqual(await readdir(join(b.root, 'tmp')), []);

  // A damaged mount layer is a warning; the build goes on with an empty mount.
  const damaged = join(dir, 'cache-mounts-damaged');
  await cp(out, damaged, { recursive: true });
  const idx = JSON.parse(await readFile(join(damaged, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const man = JSON.parse(await readFile(join(damaged, 'blobs', 'sha256', idx.manifests[0]!.digest.slice(7)), 'utf8')) as { config: { digest: string } };
  const cfg = JSON.parse(await readFile(join(damaged, 'blobs', 'sha256', man.config.digest.slice(7)), 'utf8')) as { cacheMounts: { id: string; layer: { digest: string } }[] };
  const pkgs = cfg.cacheMounts.find((m) => m.id === 'pkgs')!;
  const blobPath = join(damaged, 'blobs', 'sha256', pkgs.layer.digest.slice(7));
  const blob = await readFile(blobPath);
  blob[10] = blob[10]! ^ 1;
  await writeFile(blobPath, blob);
  const c = await freshRunner();
  const ctxC = await c.context('mounts-c', { Dockerfile: 'FROM busybox:test\nRUN --mount=type=cache,id=pkgs,target=/c ls /c > /got\n' });
  const d = c.wharf(['build', '--progress', 'plain', '-t', 'got:1', '--cache-from', `type=local,src=${damaged}`, ctxC]);
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stderr, /warning: cache mount pkgs from type=local,src=.*cache-mounts-damaged not restored: /);
  assert.equal(c.wharf(['run', '--rm', 'got:1', 'cat', '/got']).stdout, '');
  assert.deepEqual(await readdir(join(c.root, 'tmp')), []);

  const small = join(dir, 'cache-mounts-small');
  const s = runnerA.wharf(['build', '--progress', 'plain', '--cache-to', `type=local,dest=${small},cache-mounts=true,cache-mounts-max=16k`, ctx]);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stderr, /warning: cache mount \/big \(\d+ bytes\) left out of the export: the cache mounts pass cache-mounts-max=16384 bytes/);
  assert.match(s.stderr, /exported 2 records and 1 cache mounts/);
  // Without cache-mounts=true nothing of the mounts goes along.
  const none = runnerA.wharf(['build', '--progress', 'plain', '--cache-to', `type=local,dest=${join(dir, 'cache-no-mounts')}`, ctx]);
  assert.match(none.stderr, /exported 2 records to/);
});

test('compression=gzip: the export carries gzip layers (same diff_ids), and a fresh runner still gets the same image ID', async () => {
  const out = join(dir, 'cache-gzip');
  const a = await build(runnerA, await checkout(runnerA, 'app-a-gzip'), ['-t', 'app:1', '--cache-to', `type=local,dest=${out},mode=max,compression=gzip`]);
  const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(await readFile(join(out, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { mediaType: string; digest: string }[] };
  assert.equal(manifest.layers.length, 5);
  for (const l of manifest.layers) {
    assert.equal(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const bytes = await readFile(join(out, 'blobs', 'sha256', l.digest.slice(7)));
    assert.deepEqual([bytes[0], bytes[1]], [0x1f, 0x8b]);
  }
  const b = await freshRunner();
  const r = await build(b, await checkout(b, 'app-b-gzip'), ['-t', 'app:1', '--cache-from', `type=local,src=${out}`]);
  assert.deepEqual(cachedFlags(r.meta), [true, true, true, true, true, true, true], r.stderr);
  assert.equal(r.id, a.id);
  const bad = runnerA.wharf(['build', '--cache-to', 'type=local,dest=x,compression=lz4', await checkout(runnerA, 'app-gzip-bad')]);
  assert.match(bad.stderr, /--cache-to type=local,dest=x,compression=lz4: compression=lz4: use gzip, zstd or none/);
});

test('--progress json: an untagged build whose steps all hit imported records fetches nothing, and says so', async () => {
  const b = await freshRunner();
  const ctx = await checkout(b, 'app-json');
  process.env.SOURCE_DATE_EPOCH = SDE;
  const r = b.wharf(['build', '--progress', 'json', '--cache-from', `type=local,src=${join(dir, 'cache-max')}`, ctx]);
  delete process.env.SOURCE_DATE_EPOCH;
  assert.equal(r.status, 0, r.stderr);
  const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { type: string; records?: number; cacheFetched?: { layers: number; bytes: number } });
  assert.equal(events.filter((e) => e.type === 'step-cached').length, 7);
  assert.equal(events.filter((e) => e.type === 'step-started').length, 0);
  assert.equal(events.find((e) => e.type === 'cache-imported')?.records, 5);
  assert.equal(events.filter((e) => e.type === 'cache-fetched').length, 0);
  assert.deepEqual(events.find((e) => e.type === 'build-done')?.cacheFetched, { layers: 0, bytes: 0 });
});
