import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, readdirSync, statSync, writeSync, closeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

// kill -9 in the middle of a layer download, then fsck and a rerun that continues with Range from
// the kept bytes. wharf reaches the real docker-registry through a small HTTP proxy in this file
// that slows blob bodies down (so the kill lands mid-layer), counts the body bytes it passes on,
// and can drop Range headers (a registry that ignores them).
let dir: string;
let reg: TestRegistry;
let proxy: { server: Server; host: string; served: number; throttle: boolean; stripRange: boolean; ranges: string[] };
const LAYER_MB = 32;

const wharf = (root: string, args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });
const ok = (r: { status: number | null; stdout: string; stderr: string }) => assert.equal(r.status, 0, r.stdout + r.stderr);
/** For commands that go through the proxy, which runs in this process: spawnSync would starve it. */
function wharfAsync(root: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [wharfBin, '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

function startProxy(target: number): Promise<typeof proxy> {
  const p = { served: 0, throttle: false, stripRange: false, ranges: [] as string[] } as typeof proxy;
  p.server = createServer((req, res) => {
    const headers = { ...req.headers };
    if (headers.range) p.ranges.push(headers.range);
    if (p.stripRange) delete headers.range;
    const up = request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      const blob = /\/blobs\/sha256:/.test(req.url ?? '');
      ur.on('data', (c: Buffer) => {
        if (blob) p.served += c.length;
        const full = !res.write(c);
        // ~16 MB/s when throttled: a 32 MiB layer takes two seconds.
        const slow = p.throttle && blob;
        if (!full && !slow) return;
        ur.pause();
        let waits = Number(full) + Number(slow);
        const go = () => --waits === 0 && ur.resume();
        if (full) res.once('drain', go);
        if (slow) setTimeout(go, Math.ceil(c.length / 16_000));
      });
      ur.on('end', () => res.end());
    });
    up.on('error', () => res.destroy());
    // The client gone (killed): stop reading from the registry too.
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) =>
    p.server.listen(0, '127.0.0.1', () => {
      const a = p.server.address();
      p.host = `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
      resolve(p);
    }),
  );
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-pull-resume-'));
  reg = await startRegistry();
  const source = join(dir, 'source');
  importBusyboxBase(dir, source);
  const ctx = await writeContext(dir, 'ctx', { Dockerfile: 'FROM busybox:test\nCOPY big /big\n' });
  await writeFile(join(ctx, 'big'), randomBytes(LAYER_MB << 20));
  ok(wharf(source, ['build', '--progress', 'plain', '-t', 'big:1', ctx]));
  execFileSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${source}:big:1`, `docker://${reg.host}/test/big:1`]);
  proxy = await startProxy(reg.port);
});
after(async () => {
  proxy?.server.closeAllConnections();
  await new Promise((r) => proxy?.server.close(r));
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

const partials = (root: string) => (existsSync(join(root, 'partial')) ? readdirSync(join(root, 'partial')) : []);
const partialBytes = (root: string) => partials(root).reduce((n, f) => n + statSync(join(root, 'partial', f)).size, 0);

/** Starts `wharf pull` through the throttled proxy and SIGKILLs it once `atBytes` of the big layer (alone) are kept. */
async function killMidPull(root: string, atBytes: number): Promise<number> {
  proxy.throttle = true;
  const child = spawn(process.execPath, [wharfBin, '--root', root, 'pull', '-q', `${proxy.host}/test/big:1`], { stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 30_000;
  // The base layer is small but unpacked as it downloads, so it may still be partial while the big
  // one passes `atBytes`: wait until the big layer's bytes are the only ones kept.
  while (partials(root).length !== 1 || partialBytes(root) < atBytes) {
    assert.ok(Date.now() < deadline && child.exitCode === null, 'the pull got under way and did not finish first');
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  await exited;
  proxy.throttle = false;
  return partialBytes(root);
}

test('kill -9 mid-layer: fsck clean, nothing visible; the rerun continues from the kept bytes with Range', async () => {
  const root = join(dir, 'killed');
  const kept = await killMidPull(root, 8 << 20);
  assert.ok(kept >= 8 << 20 && kept < LAYER_MB << 20, `kept ${kept} bytes`);
  ok(wharf(root, ['fsck']));
  assert.equal(wharf(root, ['images', '-q']).stdout, '', 'no image half there');

  proxy.served = 0;
  proxy.ranges.length = 0;
  const r = await wharfAsync(root, ['pull', `${proxy.host}/test/big:1`]);
  ok(r);
  assert.deepEqual(proxy.ranges, [`bytes=${kept}-`], 'asked for the rest only');
  assert.ok(proxy.served < (LAYER_MB << 20) - kept + (1 << 20), `served ${proxy.served} bytes after keeping ${kept}`);
  assert.deepEqual(partials(root), [], 'the kept bytes became the blob');
  ok(wharf(root, ['fsck']));
  const run = wharf(root, ['run', '--rm', `${proxy.host}/test/big:1`, 'sh', '-c', 'wc -c < /big']);
  assert.equal(run.stdout.trim(), String(LAYER_MB << 20), run.stderr);
});

test('a registry that ignores Range: the whole layer again, kept bytes dropped; damaged kept bytes: refused once, then a full download', async () => {
  const root = join(dir, 'no-range');
  await killMidPull(root, 4 << 20);
  proxy.stripRange = true;
  proxy.served = 0;
  try {
    ok(await wharfAsync(root, ['pull', '-q', `${proxy.host}/test/big:1`]));
  } finally {
    proxy.stripRange = false;
  }
  assert.ok(proxy.served >= LAYER_MB << 20, `the whole layer was sent again (${proxy.served})`);
  assert.deepEqual(partials(root), []);
  ok(wharf(root, ['fsck']));

  const damaged = join(dir, 'damaged');
  await killMidPull(damaged, 4 << 20);
  const [file] = partials(damaged);
  const fd = openSync(join(damaged, 'partial', file!), 'r+');
  writeSync(fd, Buffer.from('not the layer'), 0, 13, 1000);
  closeSync(fd);
  proxy.served = 0;
  proxy.ranges.length = 0;
  const r = await wharfAsync(damaged, ['pull', '-q', `${proxy.host}/test/big:1`]);
  ok(r);
  assert.equal(proxy.ranges.length, 1, 'the kept bytes were used first');
  assert.ok(proxy.served >= LAYER_MB << 20, `then refused, and the whole layer fetched again (${proxy.served})`);
  assert.deepEqual(partials(damaged), []);
  ok(wharf(damaged, ['fsck']));
  assert.equal(wharf(damaged, ['run', '--rm', `${proxy.host}/test/big:1`, 'sh', '-c', 'wc -c < /big']).stdout.trim(), String(LAYER_MB << 20));
});

test('prune drops the bytes of a download no live process continues', async () => {
  const root = join(dir, 'pruned');
  await killMidPull(root, 4 << 20);
  assert.equal(partials(root).length, 1);
  ok(wharf(root, ['prune']));
  assert.deepEqual(partials(root), []);
});
