import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importBusyboxBase } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';
import { proxyTo, startServer } from '../registry/lying-servers.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

// Registries that lie: a proxy in front of a real docker-registry that damages what it forwards,
// and fake registries serving oversized documents. Every pull must be refused with the digest
// named, no stack trace, and a store that gained no tag and stays fsck-clean.
let dir: string;
let reg: TestRegistry;
let layer: { digest: string; size: number };
let configDigest: string;
const NAME = 'library/busybox:latest';

const wharf = (root: string, args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });
/** Asynchronous, for pulls through the servers this process runs (spawnSync would block them). */
function pull(root: string, name: string): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [wharfBin, '--root', root, 'pull', name], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((r) => child.once('close', (status) => r({ status, stderr })));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-regdata-hostile-'));
  reg = await startRegistry();
  const source = join(dir, 'source');
  importBusyboxBase(dir, source);
  execFileSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${source}:busybox:test`, `docker://${reg.host}/${NAME}`]);
  const man = (await (await fetch(`http://${reg.host}/v2/library/busybox/manifests/latest`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as { layers: { digest: string; size: number }[]; config: { digest: string } };
  layer = man.layers[0]!;
  configDigest = man.config.digest;
});
after(async () => {
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Refused, clean: exit 1, one error line naming `pattern`, no tag, fsck clean, no snapshot. */
async function assertRefused(root: string, r: { status: number | null; stderr: string }, pattern: RegExp): Promise<void> {
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(wharf(root, ['images', '-q']).stdout, '', 'nothing tagged');
  const fsck = wharf(root, ['fsck']);
  assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
  const snaps = (await readdir(join(root, 'snapshots')).catch(() => [] as string[])).filter((n) => n !== 'l');
  assert.deepEqual(snaps, [], 'no snapshot of refused content');
}

const blobFile = (root: string, digest: string) => join(root, 'blobs', 'sha256', digest.slice('sha256:'.length));

test('a proxy that flips one byte of the layer: refused naming the layer digest, the store gains nothing', async () => {
  const proxy = await startServer(proxyTo(reg.host, (path, body) => {
    if (!path.endsWith(`/blobs/${layer.digest}`) || !body.length) return body;
    const out = Buffer.from(body);
    const at = out.length >> 1;
    out[at] = out[at]! ^ 0x01;
    return out;
  }));
  try {
    const root = join(dir, 'flipped');
    const r = await pull(root, `${proxy.host}/${NAME}`);
    await assertRefused(root, r, new RegExp(`layer ${layer.digest} of .* failed verification`));
    assert.ok(!existsSync(blobFile(root, layer.digest)), 'the damaged layer is not stored');
    assert.ok(!existsSync(blobFile(root, configDigest)), 'nor the config');
  } finally {
    await proxy.stop();
  }
});

test('a layer with bytes appended past its size is refused', async () => {
  const proxy = await startServer(proxyTo(reg.host, (path, body) => (path.endsWith(`/blobs/${layer.digest}`) && body.length ? Buffer.concat([body, Buffer.alloc(4096)]) : body)));
  try {
    const root = join(dir, 'longer');
    await assertRefused(root, await pull(root, `${proxy.host}/${NAME}`), new RegExp(`layer ${layer.digest} .*failed verification: the registry sent more than its ${layer.size} bytes`));
  } finally {
    await proxy.stop();
  }
});

test('a manifest changed in transit no longer matches the Docker-Content-Digest: refused', async () => {
  const proxy = await startServer(proxyTo(reg.host, (path, body) => (path.includes('/manifests/') && body.length ? Buffer.concat([body, Buffer.from('\n')]) : body)));
  try {
    const root = join(dir, 'manifest-changed');
    await assertRefused(root, await pull(root, `${proxy.host}/${NAME}`), /content hashes to sha256:[0-9a-f]{64}, but the registry says sha256:/);
  } finally {
    await proxy.stop();
  }
});

test('by digest, a registry serving other bytes is refused', async () => {
  // Whatever digest is asked for, the proxy serves the manifest of :latest.
  const proxy = await startServer(proxyTo(reg.host, (_p, body) => body, (path) => path.replace(/\/manifests\/sha256:[0-9a-f]+$/, '/manifests/latest')));
  try {
    const root = join(dir, 'wrong-digest');
    const want = `sha256:${'ab'.repeat(32)}`;
    await assertRefused(root, await pull(root, `${proxy.host}/library/busybox@${want}`), new RegExp(`not ${want}`));
  } finally {
    await proxy.stop();
  }
});

test('an oversized manifest (streamed, no Content-Length) and an oversized config are refused without reading them', async () => {
  let sent = 0;
  const fake = await startServer(async (req, _body, res) => {
    if (req.url?.endsWith('/manifests/huge')) {
      res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
      const chunk = Buffer.alloc(1 << 20, 0x20);
      for (let i = 0; i < 64 && !res.destroyed; i++) {
        sent += chunk.length;
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      }
      res.end();
      return;
    }
    if (req.url?.endsWith('/manifests/bigconfig')) {
      res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
      res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'cd'.repeat(32)}`, size: 9 << 20 }, layers: [] }));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  try {
    const root = join(dir, 'huge');
    await assertRefused(root, await pull(root, `${fake.host}/x/y:huge`), /manifest .*x\/y:huge is larger than the 4 MiB allowed/);
    assert.ok(sent < 40 << 20, `the reader stopped early (${sent} bytes sent)`);
    await assertRefused(root, await pull(root, `${fake.host}/x/y:bigconfig`), /config sha256:(cd)+ of .* is 9437184 bytes, larger than the 8 MiB allowed/);
  } finally {
    await fake.stop();
  }
});

test('kill -9 in the middle of a layer: fsck is clean, no half blob is visible, and the rerun completes', async () => {
  let release: () => void = () => undefined;
  let started: () => void = () => undefined;
  const midway = new Promise<void>((r) => (started = r));
  const proxy = await startServer(async (req, body, res) => {
    if (!req.url?.endsWith(`/blobs/${layer.digest}`) || req.method !== 'GET') return proxyTo(reg.host, (_p, b) => b)(req, body, res);
    const full = Buffer.from(await (await fetch(`http://${reg.host}${req.url}`)).arrayBuffer());
    res.setHeader('content-length', full.length);
    res.write(full.subarray(0, full.length >> 1));
    started();
    await new Promise<void>((r) => (release = r));
    res.destroy();
  });
  const root = join(dir, 'killed');
  try {
    const child = spawn(process.execPath, [wharfBin, '--root', root, 'pull', `${proxy.host}/${NAME}`], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    await midway;
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGKILL');
    await exited;
    release();
  } finally {
    await proxy.stop();
  }
  assert.ok(!existsSync(blobFile(root, layer.digest)), 'no half blob under its name');
  const fsck = wharf(root, ['fsck']);
  assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
  const again = await pull(root, `${reg.host}/${NAME}`);
  assert.equal(again.status, 0, again.stderr);
  const run = wharf(root, ['run', '--rm', `${reg.host}/${NAME}`, 'echo', 'ok']);
  assert.equal(run.stdout, 'ok\n', run.stderr);
  assert.equal(wharf(root, ['fsck']).status, 0);
});
