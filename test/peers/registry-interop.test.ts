import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

// Interop through a real docker-registry (distribution 2.8, plain http on 127.0.0.1) with the real
// peers: docker 20.10 (a private dockerd, one for the file) and skopeo pull and run what wharf
// pushes; wharf pulls and builds on what docker and skopeo push; digests agree byte for byte.
let dir: string;
let reg: TestRegistry;
let dockerd: PrivateDockerd;
let base: string;

interface Descriptor { mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string; variant?: string } }
interface Manifest { mediaType?: string; config: Descriptor; layers: Descriptor[] }

const wharfIn = (root: string, args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });
const ok = (r: { status: number | null; stdout: string; stderr: string }, what: string) => {
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  return r.stdout;
};
const skopeo = (args: string[]) => execFileSync('skopeo', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blobPath = (layout: string, digest: string) => join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
const readBlob = (layout: string, digest: string) => readFile(blobPath(layout, digest));

/** The manifest digest a tag names in an OCI layout (wharf's store is one). */
async function taggedDigest(layout: string, name: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: (Descriptor & { annotations?: Record<string, string> })[] };
  const hit = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name);
  assert.ok(hit, `${name} is tagged in ${layout}`);
  return hit.digest;
}
const repoDigests = (root: string, name: string) => (JSON.parse(ok(wharfIn(root, ['inspect', name]), 'wharf inspect')) as { RepoDigests: string[] }[])[0]!.RepoDigests;

before(async () => {
  requireRoot();
  dir = await mkdtemp(join(tmpdir(), 'wharf-peer-registry-'));
  [reg, dockerd] = await Promise.all([startRegistry(), startDockerd()]);
  base = join(dir, 'base-store');
  importBusyboxBase(dir, base);
});
after(async () => {
  await reg?.stop();
  await dockerd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('wharf push → docker pull/run and skopeo inspect/copy: same manifest digest, same layer bytes', async () => {
  const name = `${reg.host}/interop/wharf-made:1`;
  const ctx = await writeContext(dir, 'ctx-a', { Dockerfile: 'FROM busybox:test\nRUN echo made by wharf > /greeting\nCMD ["cat", "/greeting"]\n' });
  ok(wharfIn(base, ['build', '--progress', 'quiet', '--compression', 'gzip', '-t', name, ctx]), 'wharf build');
  const pushed = ok(wharfIn(base, ['push', name]), 'wharf push');
  const digest = /^1: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(pushed)?.[1];
  assert.ok(digest, pushed);
  const manifest = JSON.parse((await readBlob(base, await taggedDigest(base, name))).toString()) as Manifest;
  assert.ok(manifest.layers.every((l) => l.mediaType.endsWith('+gzip')), 'every layer is stored gzip-compressed');
  // The manifest sent may be another form of the stored one (a docker schema 2 one when every layer
  // is gzip); the bytes in the registry are what the printed digest names, with the same blobs.
  const raw = Buffer.from(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${name}`]));
  assert.equal(sha256(raw), digest, 'the printed digest is that of the manifest bytes in the registry');
  const sent = JSON.parse(raw.toString()) as Manifest;
  assert.equal(sent.config.digest, manifest.config.digest);
  assert.deepEqual(sent.layers.map((l) => [l.digest, l.size]), manifest.layers.map((l) => [l.digest, l.size]));

  ok(dockerd.docker(['pull', name]), 'docker pull');
  assert.equal(ok(dockerd.docker(['run', '--rm', '--network', 'none', name]), 'docker run'), 'made by wharf\n');
  const dockerRepoDigests = JSON.parse(ok(dockerd.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', name]), 'docker inspect')) as string[];
  assert.deepEqual(dockerRepoDigests, [`${reg.host}/interop/wharf-made@${digest}`]);
  assert.equal(ok(dockerd.docker(['image', 'inspect', '--format', '{{.Id}}', name]), 'docker inspect').trim(), manifest.config.digest, 'docker keeps the config wharf wrote');

  const inspected = JSON.parse(skopeo(['inspect', '--tls-verify=false', `docker://${name}`])) as { Digest: string; Layers: string[] };
  assert.equal(inspected.Digest, digest);
  assert.deepEqual(inspected.Layers, manifest.layers.map((l) => l.digest));

  const layout = join(dir, 'skopeo-a');
  skopeo(['copy', '-q', '--src-tls-verify=false', `docker://${name}`, `oci:${layout}:copied`]);
  const copied = JSON.parse((await readBlob(layout, await taggedDigest(layout, 'copied'))).toString()) as Manifest;
  assert.deepEqual(copied.layers.map((l) => l.digest), manifest.layers.map((l) => l.digest), 'skopeo changed no layer');
  for (const l of manifest.layers) {
    const [theirs, ours] = await Promise.all([readBlob(layout, l.digest), readBlob(base, l.digest)]);
    assert.equal(sha256(theirs), l.digest);
    assert.ok(theirs.equals(ours), `layer ${l.digest} byte-identical`);
  }
  // skopeo rewrites the config when it converts to OCI; the one in the registry is wharf's own.
  const config = Buffer.from(await (await fetch(`http://${reg.host}/v2/interop/wharf-made/blobs/${manifest.config.digest}`)).arrayBuffer());
  assert.ok(config.equals(await readBlob(base, manifest.config.digest)), 'config byte-identical');
});

test('docker push → wharf pull, build on it and run; wharf records docker\'s manifest digest', async () => {
  makeBusyboxRootfs(join(dir, 'rootfs-b'));
  execFileSync('tar', ['--numeric-owner', '-C', join(dir, 'rootfs-b'), '-cf', join(dir, 'rootfs-b.tar'), '.']);
  const name = `${reg.host}/interop/docker-made:2`;
  ok(dockerd.docker(['import', join(dir, 'rootfs-b.tar'), `${reg.host}/interop/docker-base:1`]), 'docker import');
  // A second layer from a docker container, so the image has more than the imported one.
  ok(dockerd.docker(['run', '--name', 'b-layer', '--network', 'none', `${reg.host}/interop/docker-base:1`, 'sh', '-c', 'echo made by docker > /from-docker']), 'docker run');
  ok(dockerd.docker(['commit', 'b-layer', name]), 'docker commit');
  ok(dockerd.docker(['rm', 'b-layer']), 'docker rm');
  ok(dockerd.docker(['push', name]), 'docker push');
  const [dockerRepoDigest] = JSON.parse(ok(dockerd.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', name]), 'docker inspect')) as string[];
  assert.match(dockerRepoDigest!, /@sha256:[0-9a-f]{64}$/);

  const root = join(dir, 'store-b');
  const pulled = ok(wharfIn(root, ['pull', name]), 'wharf pull');
  const digest = dockerRepoDigest!.slice(dockerRepoDigest!.indexOf('@') + 1);
  assert.ok(pulled.includes(`Digest: ${digest}\n`), pulled);
  assert.deepEqual(repoDigests(root, name), [dockerRepoDigest]);
  assert.equal(await taggedDigest(root, name), digest);
  const manifest = JSON.parse((await readBlob(root, digest)).toString()) as Manifest;
  assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json', 'docker 20.10 pushes a schema 2 manifest, kept as is');
  assert.equal(manifest.layers.length, 2);
  assert.equal(
    (JSON.parse(ok(wharfIn(root, ['inspect', name]), 'wharf inspect')) as { Id: string }[])[0]!.Id,
    ok(dockerd.docker(['image', 'inspect', '--format', '{{.Id}}', name]), 'docker inspect').trim(),
    'same image ID (config digest) on both sides',
  );

  const ctx = await writeContext(dir, 'ctx-b', { Dockerfile: `FROM ${name}\nRUN cat /from-docker > /both && echo and wharf >> /both\nCMD ["cat", "/both"]\n` });
  ok(wharfIn(root, ['build', '--progress', 'quiet', '-t', 'on-docker:1', ctx]), 'wharf build');
  assert.equal(ok(wharfIn(root, ['run', '--rm', 'on-docker:1']), 'wharf run'), 'made by docker\nand wharf\n');
  ok(wharfIn(root, ['fsck']), 'wharf fsck');
});

/** Writes `obj` as a blob of `layout` and returns its descriptor. */
async function putJson(layout: string, mediaType: string, obj: unknown): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(obj));
  const digest = sha256(bytes);
  await writeFile(blobPath(layout, digest), bytes);
  return { mediaType, digest, size: bytes.length };
}

test('skopeo copy --all of a two-platform index → wharf pull picks the host, --platform the other', async () => {
  const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const otherArch = hostArch === 'arm64' ? 'amd64' : 'arm64';
  // Two wharf builds with different contents; the second's config is re-labelled for the other
  // platform (never run, only pulled) so the index is what a multi-platform build would give.
  const layout = join(dir, 'multi-layout');
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const children: Descriptor[] = [];
  for (const arch of [hostArch, otherArch]) {
    const ctx = await writeContext(dir, `ctx-c-${arch}`, { Dockerfile: `FROM busybox:test\nRUN echo ${arch} > /arch\n` });
    ok(wharfIn(base, ['build', '--progress', 'quiet', '--compression', 'gzip', '-t', `multi:${arch}`, ctx]), 'wharf build');
    const manifest = JSON.parse((await readBlob(base, await taggedDigest(base, `multi:${arch}`))).toString()) as Manifest;
    for (const l of manifest.layers) await writeFile(blobPath(layout, l.digest), await readBlob(base, l.digest));
    const config = JSON.parse((await readBlob(base, manifest.config.digest)).toString()) as { architecture: string; os: string };
    assert.equal(config.architecture, hostArch);
    config.architecture = arch;
    const configDesc = await putJson(layout, manifest.config.mediaType, config);
    const child = await putJson(layout, 'application/vnd.oci.image.manifest.v1+json', { ...manifest, config: configDesc });
    children.push({ ...child, platform: { os: 'linux', architecture: arch } });
  }
  const index = await putJson(layout, 'application/vnd.oci.image.index.v1+json', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: children });
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...index, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }] }));

  const name = `${reg.host}/interop/multi:1`;
  skopeo(['copy', '-q', '--all', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://${name}`]);
  assert.equal((JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${name}`])) as { manifests: Descriptor[] }).manifests.length, 2);

  const hostRoot = join(dir, 'store-c-host');
  ok(wharfIn(hostRoot, ['pull', name]), 'wharf pull');
  assert.equal(await taggedDigest(hostRoot, name), children[0]!.digest, 'the host platform\'s manifest');
  assert.deepEqual(repoDigests(hostRoot, name), [`${reg.host}/interop/multi@${index.digest}`], 'the RepoDigest is the index, as docker records it');
  assert.equal(ok(wharfIn(hostRoot, ['run', '--rm', name, 'cat', '/arch']), 'wharf run'), `${hostArch}\n`);

  const otherRoot = join(dir, 'store-c-other');
  ok(wharfIn(otherRoot, ['pull', '--platform', `linux/${otherArch}`, name]), 'wharf pull --platform');
  assert.equal(await taggedDigest(otherRoot, name), children[1]!.digest, 'the other platform\'s manifest');
  const missing = wharfIn(join(dir, 'store-c-none'), ['pull', '--platform', 'linux/s390x', name]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, new RegExp(`no image for linux/s390x; it has: linux/${hostArch}, linux/${otherArch}`));
  for (const r of [hostRoot, otherRoot]) ok(wharfIn(r, ['fsck']), 'wharf fsck');
});

test('FROM 127.0.0.1:PORT/library/busybox:latest builds from an empty store, then offline from the cache', async () => {
  // Its own registry, fed by docker push, so stopping it leaves the other tests' registry alone.
  const own = await startRegistry();
  try {
    const src = `${own.host}/library/busybox:latest`;
    makeBusyboxRootfs(join(dir, 'rootfs-d'));
    execFileSync('tar', ['--numeric-owner', '-C', join(dir, 'rootfs-d'), '-cf', join(dir, 'rootfs-d.tar'), '.']);
    ok(dockerd.docker(['import', '--change', 'CMD ["sh"]', join(dir, 'rootfs-d.tar'), src]), 'docker import');
    ok(dockerd.docker(['push', src]), 'docker push');

    const root = join(dir, 'store-d');
    const ctx = await writeContext(dir, 'ctx-d', { Dockerfile: `FROM ${src}\nRUN echo built offline-capable > /made\nCMD ["cat", "/made"]\n` });
    const build = (tag: string, extra: string[] = []) => wharfIn(root, ['build', '--progress', 'plain', ...extra, '-t', tag, ctx]);
    const first = build('app:1');
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, new RegExp(`#pull ${own.host.replace(/\./g, '\\.')}/library/busybox:latest`));
    assert.equal(ok(wharfIn(root, ['run', '--rm', 'app:1']), 'wharf run'), 'built offline-capable\n');

    await own.stop();
    const offline = build('app:2', ['--no-cache']);
    assert.equal(offline.status, 0, offline.stderr);
    assert.doesNotMatch(offline.stderr, /#pull/);
    assert.equal(ok(wharfIn(root, ['run', '--rm', 'app:2']), 'wharf run'), 'built offline-capable\n');
    ok(wharfIn(root, ['fsck']), 'wharf fsck');
  } finally {
    await own.stop();
  }
});
