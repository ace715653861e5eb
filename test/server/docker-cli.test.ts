// `wharf serve` driven by the stock docker 20.10 CLI (DOCKER_BUILDKIT=0, DOCKER_HOST=unix://…):
// build (--build-arg, --target, -f, --no-cache, -q), images, inspect, history, tag, rmi,
// save | load, pull and push against a real registry; and the server's own guarantees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { wharfBuildEnv, type WharfBuildEnv } from '../helpers/wharf-build.js';
import { tmpdir } from 'node:os';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { wharfBin } from '../helpers/paths.js';
import { raw, startServe, type ServeChild } from './helpers.js';

const suite = {} as { dir: string; env: WharfBuildEnv };
let server: ServeChild;
let registry: TestRegistry;

before(async () => {
  suite.dir = await mkdtemp(join(tmpdir(), 'wharf-serve-'));
  suite.env = wharfBuildEnv(suite.dir);
  suite.env.importBusybox();
  server = await startServe(suite.dir, suite.env.root);
  registry = await startRegistry();
});
after(async () => {
  await server?.stop();
  await registry?.stop();
  if (suite.dir) await rm(suite.dir, { recursive: true, force: true });
});

const mounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(suite.env.root));
const storeTmp = async () => (await readdir(join(suite.env.root, 'tmp')).catch(() => [])).filter((n) => !n.startsWith('.'));

test('docker build through wharf serve: --build-arg, --target, -f, --no-cache, -q; then images, inspect, history', async () => {
  const ctx = await suite.env.context('serve-ctx', {
    Dockerfile: 'FROM busybox:test AS base\nARG WHO=nobody\nRUN echo hello $WHO > /hi\nLABEL stage=base\nFROM base AS second\nRUN echo second > /s\nCMD ["cat", "/hi"]\n',
    'other.Dockerfile': 'FROM busybox:test\nCOPY data.txt /data.txt\nENV X=1\n',
    'data.txt': 'data\n',
  });
  const b = server.docker(['build', '-t', 'x', '--build-arg', 'WHO=me', '--target', 'base', '--label', 'via=serve', ctx]);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /Step 2\/2 : RUN echo hello \$WHO > \/hi/, 'steps are numbered per stage; metadata steps make no layer and are not listed');
  assert.match(b.stdout, /Successfully built [0-9a-f]{12}\nSuccessfully tagged x:latest/);
  const id = /Successfully built ([0-9a-f]{12})/.exec(b.stdout)![1]!;

  // The image docker sees is the one in the store, with the build arg and the target's config.
  const insp = JSON.parse(server.docker(['image', 'inspect', 'x']).stdout) as { Id: string; Config: { Labels?: Record<string, string>; Cmd?: string[] } }[];
  assert.ok(insp[0]!.Id.startsWith(`sha256:${id}`));
  assert.deepEqual(insp[0]!.Config.Labels, { stage: 'base', via: 'serve' });
  assert.equal(insp[0]!.Config.Cmd, undefined, '--target base stops before CMD');
  const run = suite.env.wharf(['run', '--rm', 'x', 'cat', '/hi']);
  assert.equal(run.stdout.trim(), 'hello me');
  // `docker inspect` asks for a container first: "no such container" sends it on to the image.
  assert.equal(server.docker(['inspect', '--format', '{{.Id}}', 'x']).stdout.trim(), insp[0]!.Id);

  const cached = server.docker(['build', '-t', 'x', '--build-arg', 'WHO=me', '--target', 'base', '--label', 'via=serve', ctx]);
  assert.match(cached.stdout, /Using cache/);
  assert.match(cached.stdout, new RegExp(`Successfully built ${id}`));
  const fresh = server.docker(['build', '--no-cache', '-t', 'x', '--build-arg', 'WHO=me', '--target', 'base', '--label', 'via=serve', ctx]);
  assert.equal(fresh.status, 0, fresh.stderr);
  assert.doesNotMatch(fresh.stdout, /Using cache/);
  const freshId = /Successfully built ([0-9a-f]{12})/.exec(fresh.stdout)![1]!;

  const q = server.docker(['build', '-q', '-f', join(ctx, 'other.Dockerfile'), '-t', 'y:2', ctx]);
  assert.equal(q.status, 0, q.stderr);
  assert.match(q.stdout.trim(), /^sha256:[0-9a-f]{64}$/, '-q prints the ID only');
  assert.equal(suite.env.wharf(['run', '--rm', 'y:2', 'cat', '/data.txt']).stdout, 'data\n');

  const images = server.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
  assert.equal(images.status, 0, images.stderr);
  assert.match(images.stdout, new RegExp(`^x:latest ${freshId}$`, 'm'));
  assert.match(images.stdout, /^y:2 [0-9a-f]{12}$/m);
  assert.match(images.stdout, /^busybox:test /m);

  const hist = server.docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'x']);
  assert.equal(hist.status, 0, hist.stderr);
  assert.match(hist.stdout, /RUN \|1 WHO=me \/bin\/sh -c echo hello \$WHO > \/hi/);

  // A Dockerfile error comes back as the daemon's error, naming the line.
  const bad = await suite.env.context('serve-bad', { Dockerfile: 'FROM busybox:test\nRUNN echo\n' });
  const failed = server.docker(['build', bad]);
  assert.notEqual(failed.status, 0);
  assert.match(failed.stdout + failed.stderr, /Dockerfile:2/);
  assert.deepEqual(mounts(), []);
});

test('docker tag, rmi, save | load through wharf serve', async () => {
  const t = server.docker(['tag', 'y:2', 'z:3']);
  assert.equal(t.status, 0, t.stderr);
  const ids = server.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']).stdout;
  assert.equal(/^z:3 (\S+)$/m.exec(ids)![1], /^y:2 (\S+)$/m.exec(ids)![1]);

  const tar = join(suite.dir, 'y.tar');
  const save = server.docker(['save', '-o', tar, 'y:2']);
  assert.equal(save.status, 0, save.stderr);
  assert.ok(statSync(tar).size > 1000);
  assert.match(execFileSync('tar', ['-tf', tar], { encoding: 'utf8' }), /manifest\.json/);
  assert.match(server.docker(['rmi', 'z:3']).stdout, /Untagged: z:3/);
  const rmi = server.docker(['rmi', 'y:2']);
  assert.match(rmi.stdout, /Untagged: y:2\nDeleted: sha256:/);
  assert.doesNotMatch(server.docker(['images']).stdout, /^y /m);
  const load = server.docker(['load', '-i', tar]);
  assert.equal(load.status, 0, load.stderr);
  assert.match(load.stdout, /Loaded image: y:2/);
  assert.equal(suite.env.wharf(['run', '--rm', 'y:2', 'cat', '/data.txt']).stdout, 'data\n');
  const missing = server.docker(['rmi', 'nope:1']);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /nope/);
});

test('docker push and pull through wharf serve against a registry', async () => {
  const name = `${registry.host}/served/y:2`;
  assert.equal(server.docker(['tag', 'y:2', name]).status, 0);
  const push = server.docker(['push', name]);
  assert.equal(push.status, 0, push.stderr);
  assert.match(push.stdout, /2: digest: sha256:[0-9a-f]{64} size: \d+/);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)![1]!;
  // What the registry has is what was pushed (skopeo reads it independently).
  const sk = spawnSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${name}`], { encoding: 'utf8' });
  assert.equal(sk.status, 0, sk.stderr);
  assert.match(sk.stdout, /"layers"/);

  assert.equal(server.docker(['rmi', name]).status, 0);
  const pull = server.docker(['pull', name]);
  assert.equal(pull.status, 0, pull.stderr);
  assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
  const pulled = JSON.parse(server.docker(['image', 'inspect', name]).stdout) as { Id: string; RepoDigests: string[] }[];
  assert.equal(pulled[0]!.Id, JSON.parse(server.docker(['image', 'inspect', 'y:2']).stdout)[0].Id);
  assert.deepEqual(pulled[0]!.RepoDigests, [`${registry.host}/served/y@${digest}`]);
});

test('docker run --rm through wharf serve: output on the right stream, the exit code, no mounts after; logs and rm without --rm', async () => {
  const hi = server.docker(['run', '--rm', 'x', 'echo', 'hi']);
  assert.equal(hi.status, 0, hi.stderr);
  assert.equal(hi.stdout, 'hi\n');
  const mixed = server.docker(['run', '--rm', 'x', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(mixed.status, 3);
  assert.equal(mixed.stdout, 'out\n');
  assert.equal(mixed.stderr, 'err\n');
  // The image's Cmd runs when none is given; -e adds to its Env.
  const env = server.docker(['run', '--rm', '-e', 'WHO=env', 'x', 'sh', '-c', 'echo $WHO; cat /hi']);
  assert.equal(env.stdout, 'env\nhello me\n');

  const kept = server.docker(['run', '--name', 'kept', 'x', 'sh', '-c', 'echo a; echo b >&2']);
  assert.equal(kept.status, 0, kept.stderr);
  const logs = server.docker(['logs', 'kept']);
  assert.equal(logs.stdout, 'a\n');
  assert.equal(logs.stderr, 'b\n');
  assert.equal(server.docker(['rm', 'kept']).status, 0);
  assert.match(server.docker(['logs', 'kept']).stderr, /No such container: kept/);
  assert.match(server.docker(['run', '--rm', '-t', 'x', 'true']).stderr, /without a TTY/);
  assert.deepEqual(mounts(), []);
});

test('the API: /vX.Y prefixes, 501 naming the endpoint, header and body limits, escaping context tars refused, one log line per request', async () => {
  const ping = await raw(server.socket, 'GET', '/v1.40/_ping');
  assert.equal(ping.status, 200);
  assert.equal(ping.body, 'OK');
  const v = JSON.parse((await raw(server.socket, 'GET', '/v1.41/version')).body) as { ApiVersion: string };
  assert.equal(v.ApiVersion, '1.41');
  const info = JSON.parse((await raw(server.socket, 'GET', '/info')).body) as { Images: number; OSType: string };
  assert.equal(info.OSType, 'linux');
  assert.ok(info.Images >= 2);
  const bk = await raw(server.socket, 'POST', '/v1.41/build?version=2', { body: Buffer.alloc(0) });
  assert.equal(bk.status, 400);
  assert.match(JSON.parse(bk.body).message, /DOCKER_BUILDKIT=0/);
  const nope = await raw(server.socket, 'GET', '/v1.41/networks');
  assert.equal((await raw(server.socket, 'GET', '/containers/nope/json')).status, 404);
  assert.equal(nope.status, 501);
  assert.match(JSON.parse(nope.body).message, /GET \/networks/);
  const huge = await raw(server.socket, 'GET', '/_ping', { headers: { 'X-Big': 'a'.repeat(64 * 1024) } });
  assert.equal(huge.status, 431);
  const tooBig = await raw(server.socket, 'POST', '/build', { headers: { 'Content-Length': String(16 * 1024 ** 3) } }).catch(() => ({ status: 413, body: '' }));
  assert.equal(tooBig.status, 413);

  // A context tar with `..` is refused as `wharf build -` refuses it, and leaves nothing.
  const evil = join(suite.dir, 'evil');
  await mkdir(evil, { recursive: true });
  await writeFile(join(evil, 'Dockerfile'), 'FROM busybox:test\n');
  execFileSync('tar', ['-C', evil, '-P', '-cf', join(suite.dir, 'evil.tar'), 'Dockerfile', '--transform', 's,^Dockerfile,../../escaped,']);
  const r = await raw(server.socket, 'POST', '/v1.41/build?t=evil', { headers: { 'Content-Type': 'application/x-tar' }, body: readFileSync(join(suite.dir, 'evil.tar')) });
  assert.equal(r.status, 200);
  assert.match(r.body, /"errorDetail".*refusing layer entry \\"\.\.\/\.\.\/escaped\\"/);
  assert.deepEqual(await storeTmp(), []);
  // The line is written once the reply has ended: the client may read the reply first.
  for (let i = 0; i < 50 && !/POST \/v1\.41\/build\?t=evil 200 \d+ms/.test(server.log()); i++) await new Promise((res) => setTimeout(res, 20));
  assert.match(server.log(), /GET \/v1\.41\/networks 501 \d+ms/);
  assert.match(server.log(), /POST \/v1\.41\/build\?t=evil 200 \d+ms/);
});

test('a client that disconnects cancels its build: no mounts, no temp dirs; the socket is 0660', async () => {
  assert.equal(statSync(server.socket).mode & 0o777, 0o660);
  const ctx = await suite.env.context('serve-slow', { Dockerfile: 'FROM busybox:test\nRUN echo started && sleep 60\n' });
  const tar = execFileSync('tar', ['-C', ctx, '-c', '.']);
  const { request } = await import('node:http');
  await new Promise<void>((resolve, reject) => {
    const req = request({ socketPath: server.socket, method: 'POST', path: '/v1.41/build?t=slow', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      res.on('data', (c: Buffer) => {
        // The RUN's own output (not the step line that quotes it): the container is running.
        if (c.toString().includes('{"stream":"started\\n"}')) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', () => undefined);
    req.end(tar);
    setTimeout(() => reject(new Error('the build never started')), 20_000);
  });
  for (let i = 0; i < 100 && !/POST \/v1\.41\/build\?t=slow \d+ \(client gone\)/.test(server.log()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(server.log(), /POST \/v1\.41\/build\?t=slow \d+ \(client gone\)/);
  assert.deepEqual(mounts(), []);
  assert.deepEqual(await storeTmp(), []);
  assert.doesNotMatch(server.docker(['images']).stdout, /^slow /m);
});

test('tcp is loopback only; SIGTERM lets a running build finish and exits 0', async () => {
  const r = spawnSync(process.execPath, [wharfBin, '--root', suite.env.root, 'serve', '--host', 'tcp://0.0.0.0:2375'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /tcp:\/\/0\.0\.0\.0:2375: refused without --tlsverify/);

  const ctx = await suite.env.context('serve-drain', { Dockerfile: 'FROM busybox:test\nRUN sleep 1 && echo drained > /d\n' });
  const build = new Promise<{ status: number | null; stdout: string }>((resolve) => {
    const { spawn } = require_('node:child_process') as typeof import('node:child_process');
    const c = spawn('/usr/bin/docker', ['build', '-t', 'drained', ctx], { env: { ...process.env, DOCKER_HOST: `unix://${server.socket}`, DOCKER_BUILDKIT: '0' } });
    let stdout = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.on('close', (status) => resolve({ status, stdout }));
  });
  for (let i = 0; i < 100 && !server.log().includes('POST /v1.41/build?') ; i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  const code = await server.stop();
  const b = await build;
  assert.equal(code, 0);
  assert.equal(b.status, 0, b.stdout);
  assert.match(b.stdout, /Successfully tagged drained:latest/);
  assert.match(server.log(), /SIGTERM: no new requests/);
  assert.equal(suite.env.wharf(['run', '--rm', 'drained', 'cat', '/d']).stdout, 'drained\n');
});

import { createRequire } from 'node:module';
const require_ = createRequire(import.meta.url);
