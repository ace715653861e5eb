import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startServer } from './lying-servers.js';

// wharf push's wire side against a real docker-registry: uncompressed layers gzip-compressed by
// default and the copy kept, the OCI format and zstd, cross-repository mounts, chunked uploads.
// A counting proxy in front of the registry shows which requests wharf made.
let dir: string;
let reg: TestRegistry;
let root: string;
let proxy: { host: string; stop(): Promise<void> };
const requests: { method: string; url: string; status: number; uuid: string | null }[] = [];
const wharf = (r: string, args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', r, ...args], { encoding: 'utf8' });
const skopeoRaw = (name: string) => JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as {
  mediaType: string;
  config: { mediaType: string; digest: string };
  layers: { mediaType: string; digest: string; size: number }[];
};
/** Asynchronous, for commands that go through the proxy this process runs (spawnSync would block it). */
function wharfAsync(r: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [wharfBin, '--root', r, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
const blobCount = (r: string) => readdirSync(join(r, 'blobs', 'sha256')).length;
const hex = (d: string) => d.slice('sha256:'.length);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-push-wire-'));
  reg = await startRegistry();
  root = join(dir, 'store');
  importBusyboxBase(dir, root);
  // Forwards to the registry, rewriting upload Locations to itself, and logs every request.
  proxy = await startServer(async (req, body, res) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'connection', 'content-length', 'transfer-encoding'].includes(k)) headers[k] = v;
    const up = await fetch(`http://${reg.host}${req.url}`, { method: req.method!, headers, redirect: 'manual', ...(body.length ? { body } : {}) });
    requests.push({ method: req.method!, url: req.url ?? '', status: up.status, uuid: up.headers.get('docker-upload-uuid') });
    for (const k of ['content-type', 'docker-content-digest', 'location', 'docker-distribution-api-version', 'range', 'docker-upload-uuid', 'www-authenticate']) {
      const v = up.headers.get(k);
      if (v) res.setHeader(k, v.replaceAll(reg.host, proxy.host));
    }
    const out = Buffer.from(await up.arrayBuffer());
    res.statusCode = up.status;
    res.setHeader('content-length', req.method === 'HEAD' ? (up.headers.get('content-length') ?? '0') : String(out.length));
    res.end(req.method === 'HEAD' ? undefined : out);
  });
});
after(async () => {
  await proxy?.stop();
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('an uncompressed layer is pushed gzip (docker schema2), the copy is kept: a second push compresses and sends nothing, mounts to another repository, and a lost record compresses to the same digest', async () => {
  const ctx = await writeContext(dir, 'ctx', { Dockerfile: 'FROM busybox:test\nRUN echo wire > /msg\nCMD ["cat", "/msg"]\n' });
  const name = `${reg.host}/team/app:1`;
  const b = wharf(root, ['build', '--progress', 'plain', '-t', name, ctx]);
  assert.equal(b.status, 0, b.stderr);
  const [local] = JSON.parse(wharf(root, ['inspect', name]).stdout) as { Id: string; RootFS: { Layers: string[] } }[];
  const runDiffId = local!.RootFS.Layers.at(-1)!;
  const before = blobCount(root);

  const r = wharf(root, ['push', name]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^The push refers to repository \[127\.0\.0\.1:\d+\/team\/app\]$/m);
  assert.equal(r.stdout.match(/^[0-9a-f]{12}: Pushed$/gm)?.length, 2, r.stdout);
  const m = /^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);

  const raw = skopeoRaw(name);
  assert.equal(raw.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.deepEqual(raw.layers.map((l) => l.mediaType), ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip']);
  assert.equal(raw.config.digest, local!.Id);
  // The RUN layer went as a gzip copy the store now holds, recorded against its diff_id; it
  // decompresses to exactly that diff_id.
  const copy = raw.layers.at(-1)!;
  assert.ok(existsSync(join(root, 'blobs', 'sha256', hex(copy.digest))));
  const record = join(root, 'wire', 'compressed', `${hex(runDiffId)}.gzip`);
  assert.equal((JSON.parse(readFileSync(record, 'utf8')) as { digest: string }).digest, copy.digest);
  const gz = readFileSync(join(root, 'blobs', 'sha256', hex(copy.digest)));
  assert.equal(`sha256:${createHash('sha256').update(gunzipSync(gz)).digest('hex')}`, runDiffId);
  assert.equal(blobCount(root), before + 1, 'one compressed copy added');
  const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', '--raw', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as { rootfs: { diff_ids: string[] } };
  assert.deepEqual(config.rootfs.diff_ids, local!.RootFS.Layers);

  // Again: nothing sent, nothing compressed (the record is the same file, the blob count the same).
  const inode = statSync(record).ino;
  const again = wharf(root, ['push', name]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.match(/^[0-9a-f]{12}: Layer already exists$/gm)?.length, 2, again.stdout);
  assert.ok(again.stdout.includes(`1: digest: ${m[1]} size: ${m[2]}`));
  assert.equal(statSync(record).ino, inode, 'not compressed again');
  assert.equal(blobCount(root), before + 1);

  // Another repository on the same registry: the blobs are mounted from the first.
  const copyName = `${reg.host}/team/copy:1`;
  assert.equal(wharf(root, ['tag', name, copyName]).status, 0);
  const mounted = wharf(root, ['push', copyName]);
  assert.equal(mounted.status, 0, mounted.stderr);
  assert.equal(mounted.stdout.match(/^[0-9a-f]{12}: Mounted from team\/app$/gm)?.length, 2, mounted.stdout);
  assert.ok(mounted.stdout.includes(`1: digest: ${m[1]}`));

  // GC keeps the copy of a tagged layer; fsck is clean.
  assert.equal(wharf(root, ['prune']).status, 0);
  assert.ok(existsSync(join(root, 'blobs', 'sha256', hex(copy.digest))));
  const fsck = wharf(root, ['fsck']);
  assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);

  // A lost record only costs a recompression, which gives the same bytes (deterministic).
  rmSync(join(root, 'wire'), { recursive: true });
  const third = `${reg.host}/team/third:1`;
  assert.equal(wharf(root, ['tag', name, third]).status, 0);
  const t = wharf(root, ['push', third]);
  assert.equal(t.status, 0, t.stderr);
  assert.ok(t.stdout.includes(`1: digest: ${m[1]}`), t.stdout);
  assert.notEqual(statSync(record).ino, inode, 'compressed again');
  assert.equal(blobCount(root), before + 1);

  // The image runs from a fresh store that pulls it.
  const other = join(dir, 'other');
  assert.equal(wharf(other, ['pull', '-q', name]).status, 0);
  assert.equal(wharf(other, ['run', '--rm', name]).stdout, 'wire\n');

  // Once no tagged image uses the layer, GC removes the copy and its records.
  for (const n of [name, copyName, third]) assert.equal(wharf(root, ['rmi', n]).status, 0);
  assert.equal(wharf(root, ['prune']).status, 0);
  assert.ok(!existsSync(join(root, 'blobs', 'sha256', hex(copy.digest))), 'the compressed copy is collected');
  assert.ok(!existsSync(record));
  assert.ok(!existsSync(join(root, 'wire', 'origins', hex(copy.digest))));
  assert.equal(wharf(root, ['fsck']).status, 0);
});

test('--compression zstd and --format oci push OCI manifests; --compression none sends the tar; bad values are refused', async () => {
  const ctx = await writeContext(dir, 'ctx2', { Dockerfile: 'FROM busybox:test\nRUN echo formats > /msg\n' });
  const name = `${reg.host}/team/fmt:1`;
  assert.equal(wharf(root, ['build', '--progress', 'plain', '-t', name, ctx]).status, 0);
  const zstdName = `${reg.host}/team/fmt:zstd`;
  assert.equal(wharf(root, ['tag', name, zstdName]).status, 0);
  const z = wharf(root, ['push', '--compression', 'zstd', zstdName]);
  assert.equal(z.status, 0, z.stderr);
  const zraw = skopeoRaw(zstdName);
  assert.equal(zraw.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.deepEqual(zraw.layers.map((l) => l.mediaType), ['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+zstd']);

  const ociName = `${reg.host}/team/fmt:oci`;
  assert.equal(wharf(root, ['tag', name, ociName]).status, 0);
  assert.equal(wharf(root, ['push', '--format', 'oci', ociName]).status, 0);
  const oraw = skopeoRaw(ociName);
  assert.equal(oraw.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(oraw.config.mediaType, 'application/vnd.oci.image.config.v1+json');
  assert.deepEqual(oraw.layers.map((l) => l.mediaType), ['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+gzip']);

  const plainName = `${reg.host}/team/fmt:plain`;
  assert.equal(wharf(root, ['tag', name, plainName]).status, 0);
  assert.equal(wharf(root, ['push', '--compression', 'none', plainName]).status, 0);
  const [local] = JSON.parse(wharf(root, ['inspect', name]).stdout) as { RootFS: { Layers: string[] } }[];
  assert.equal(skopeoRaw(plainName).layers.at(-1)!.digest, local!.RootFS.Layers.at(-1), 'the uncompressed layer goes as its diff_id');

  for (const pulled of [zstdName, ociName]) {
    const other = join(dir, `pull-${pulled.split(':').at(-1)}`);
    const p = wharf(other, ['pull', '-q', pulled]);
    assert.equal(p.status, 0, p.stderr);
    assert.equal(wharf(other, ['run', '--rm', pulled, 'cat', '/msg']).stdout, 'formats\n');
  }

  const bad = wharf(root, ['push', '--compression', 'brotli', name]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--compression brotli: .*use one of gzip, zstd, none/s);
  const badFormat = wharf(root, ['push', '--format', 'v1', name]);
  assert.equal(badFormat.status, 1);
  assert.match(badFormat.stderr, /--format v1/);
});

test('a blob pulled from one repository is mounted into another on the same registry (POST ?mount=&from= answered 201)', async () => {
  const base = `${proxy.host}/lib/base:1`;
  assert.equal(wharf(root, ['tag', 'busybox:test', base]).status, 0);
  assert.equal((await wharfAsync(root, ['push', base])).status, 0);
  const other = join(dir, 'mount-store');
  const p = await wharfAsync(other, ['pull', '-q', base]);
  assert.equal(p.status, 0, p.stderr);
  const ctx = await writeContext(dir, 'ctx3', { Dockerfile: `FROM ${base}\nRUN echo child > /msg\n` });
  const child = `${proxy.host}/team/child:1`;
  const b = await wharfAsync(other, ['build', '--progress', 'plain', '-t', child, ctx]);
  assert.equal(b.status, 0, b.stderr);
  requests.length = 0;
  const r = await wharfAsync(other, ['push', child]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^[0-9a-f]{12}: Mounted from lib\/base$/m);
  assert.match(r.stdout, /^[0-9a-f]{12}: Pushed$/m);
  const mounts = requests.filter((q) => q.method === 'POST' && /[?&]mount=sha256/.test(q.url));
  assert.equal(mounts.length, 1, JSON.stringify(requests));
  assert.match(mounts[0]!.url, /from=lib%2Fbase/);
  assert.equal(mounts[0]!.status, 201);
  // One layer upload (the RUN layer's) plus the config: no PUT of the mounted blob.
  assert.equal(requests.filter((q) => q.method === 'PUT' && q.url.includes('/blobs/uploads/')).length, 2);
  assert.equal((await wharfAsync(join(dir, 'mount-check'), ['pull', '-q', child])).status, 0);
});

test('--chunk-size uploads in PATCH requests with Content-Range, finished by PUT ?digest=, which the registry assembles', async () => {
  const ctx = await writeContext(dir, 'ctx4', { Dockerfile: 'FROM busybox:test\nRUN head -c 300000 /dev/urandom > /rand && md5sum /rand > /sum\n' });
  const name = `${proxy.host}/team/chunked:1`;
  assert.equal(wharf(root, ['build', '--progress', 'plain', '-t', name, ctx]).status, 0);
  requests.length = 0;
  const r = await wharfAsync(root, ['push', '--chunk-size', '64k', name]);
  assert.equal(r.status, 0, r.stderr);
  const raw = skopeoRaw(name.replace(proxy.host, reg.host));
  const layer = raw.layers.at(-1)!;
  assert.ok(layer.size > 4 * 65536, `the layer is ${layer.size} bytes`);
  const patches = requests.filter((q) => q.method === 'PATCH');
  // The busybox layer is mounted (the previous test pushed it to lib/base); the random layer goes
  // in 64k chunks; the config, smaller than a chunk, in one PUT.
  assert.match(r.stdout, /^[0-9a-f]{12}: Mounted from lib\/base$/m);
  assert.equal(patches.length, Math.ceil(layer.size / 65536), JSON.stringify(requests.map((q) => q.method)));
  assert.ok(patches.every((q) => q.status === 202));
  const fresh = join(dir, 'chunk-pull');
  const p = await wharfAsync(fresh, ['pull', '-q', name]);
  assert.equal(p.status, 0, p.stderr);
  const check = wharf(fresh, ['run', '--rm', name, 'md5sum', '-c', '/sum']);
  assert.equal(check.stdout, '/rand: OK\n', check.stderr);
  const bad = await wharfAsync(root, ['push', '--chunk-size', 'lots', name]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--chunk-size lots/);
});

test('a mount the registry cannot make (202) falls back to an upload in the session it opened', async () => {
  const ctx = await writeContext(dir, 'ctx5', { Dockerfile: 'FROM busybox:test\nRUN echo fallback > /msg\n' });
  const name = `${proxy.host}/team/fallback:1`;
  assert.equal(wharf(root, ['build', '--progress', 'plain', '-t', name, ctx]).status, 0);
  const [local] = JSON.parse(wharf(root, ['inspect', name]).stdout) as { RootFS: { Layers: string[] } }[];
  // Push it gzip once elsewhere so its compressed copy exists, then say (wrongly) that an empty
  // repository holds that copy.
  const first = await wharfAsync(root, ['push', name]);
  assert.equal(first.status, 0, first.stderr);
  const copy = (JSON.parse(readFileSync(join(root, 'wire', 'compressed', `${hex(local!.RootFS.Layers.at(-1)!)}.gzip`), 'utf8')) as { digest: string }).digest;
  writeFileSync(join(root, 'wire', 'origins', hex(copy)), JSON.stringify({ [proxy.host]: ['team/empty'] }));
  const second = `${proxy.host}/team/fallback2:1`;
  assert.equal(wharf(root, ['tag', name, second]).status, 0);
  requests.length = 0;
  const r = await wharfAsync(root, ['push', second]);
  assert.equal(r.status, 0, r.stderr);
  const mount = requests.find((q) => q.method === 'POST' && q.url.includes(`mount=${encodeURIComponent(copy)}`));
  assert.equal(mount?.status, 202, JSON.stringify(requests));
  assert.ok(mount!.url.includes('from=team%2Fempty'));
  // Other blobs go up at the same time, so the session is told by its id, not by request order.
  assert.ok(mount!.uuid, JSON.stringify(mount));
  const put = requests.find((q) => q.method === 'PUT' && q.url.includes(`digest=${encodeURIComponent(copy)}`));
  assert.ok(put?.url.includes(mount!.uuid!), `the upload goes on in the session the mount request opened: ${JSON.stringify(requests)}`);
  assert.equal(put?.status, 201);
  assert.equal(skopeoRaw(second.replace(proxy.host, reg.host)).layers.at(-1)!.digest, copy);
});

test('compressing at push gives the very blob a gzip build stores: an uncompressed store and a gzip store push the same RUN layer', async () => {
  const ctx = await writeContext(dir, 'ctx6', { Dockerfile: 'FROM busybox:test\nRUN head -c 3000000 /dev/zero > /zeros && echo same > /msg\n' });
  const gzRoot = join(dir, 'gz-store');
  mkdirSync(join(dir, 'gz-base'));
  importBusyboxBase(join(dir, 'gz-base'), gzRoot);
  const env = { ...process.env, SOURCE_DATE_EPOCH: '1' };
  const build = (r: string, extra: string[], name: string) => spawnSync(process.execPath, [wharfBin, '--root', r, 'build', '--progress', 'plain', ...extra, '-t', name, ctx], { encoding: 'utf8', env });
  const plainName = `${reg.host}/same/plain:1`;
  const gzName = `${reg.host}/same/gz:1`;
  assert.equal(build(root, [], plainName).status, 0);
  assert.equal(build(gzRoot, ['--compression', 'gzip'], gzName).status, 0);
  assert.equal(wharf(root, ['push', plainName]).status, 0);
  const g = wharf(gzRoot, ['push', gzName]);
  assert.equal(g.status, 0, g.stderr);
  assert.equal(g.stdout.match(/: Pushed$/gm)?.length, 2, 'the gzip store sends its layers as they are stored');
  // The RUN layer (the base layers come from two separate imports, with their own mtimes).
  const a = skopeoRaw(plainName).layers.at(-1)!;
  const b = skopeoRaw(gzName).layers.at(-1)!;
  assert.deepEqual(a, b);
  assert.ok(a.size < 100_000, 'compressed');
});

test('a torn compressed-copy record reads as absent: the push compresses again and rewrites it', async () => {
  const ctx = await writeContext(dir, 'ctx7', { Dockerfile: 'FROM busybox:test\nRUN echo torn > /msg\n' });
  const name = `${reg.host}/team/torn:1`;
  assert.equal(wharf(root, ['build', '--progress', 'plain', '-t', name, ctx]).status, 0);
  assert.equal(wharf(root, ['push', name]).status, 0);
  const [local] = JSON.parse(wharf(root, ['inspect', name]).stdout) as { RootFS: { Layers: string[] } }[];
  const record = join(root, 'wire', 'compressed', `${hex(local!.RootFS.Layers.at(-1)!)}.gzip`);
  const good = readFileSync(record, 'utf8');
  writeFileSync(record, good.slice(0, 20));
  const again = `${reg.host}/team/torn2:1`;
  assert.equal(wharf(root, ['tag', name, again]).status, 0);
  const r = wharf(root, ['push', again]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(record, 'utf8'), good, 'the same copy, recorded again');
  assert.equal(skopeoRaw(again).layers.at(-1)!.digest, (JSON.parse(good) as { digest: string }).digest);
});
