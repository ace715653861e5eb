import { test, before, after } from 'node:test';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { wharfBin } from '../helpers/paths.js';
import { openStore } from '../../src/store/index.js';
import { loadImage } from '../../src/image/index.js';
import { sha256Hex, sha256Of } from '../../src/hash/index.js';

// RUN --mount=type=secret|ssh and cache sharing modes, end to end with real runc containers.
let dir: string;
let root: string;

const FILE_SECRET = 'file-s3cr3t-VALUE-one';
const ENV_SECRET = 'env-s3cr3t-VALUE-two';

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}
const wharf = (args: string[], env: NodeJS.ProcessEnv = process.env): Outcome => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8', env });

/** A build in the background (two at once share the store). */
function wharfAsync(args: string[]): Promise<Outcome> {
  const child = spawn(process.execPath, [wharfBin, '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

const context = (name: string, files: Record<string, string>) => writeContext(dir, name, files);

async function buildMeta(ctx: string, extra: string[], env?: NodeJS.ProcessEnv): Promise<{ r: Outcome; cached: boolean[]; keys: string[] }> {
  const metaFile = join(dir, `meta-${Math.random().toString(36).slice(2)}.json`);
  const r = wharf(['build', '--progress', 'plain', '--metadata-file', metaFile, ...extra, ctx], env);
  assert.equal(r.status, 0, r.stderr);
  const steps = (JSON.parse(await readFile(metaFile, 'utf8')) as { 'wharf.steps': { cached: boolean; cacheKey: string }[] })['wharf.steps'];
  return { r, cached: steps.map((s) => s.cached), keys: steps.map((s) => s.cacheKey) };
}

/** Entry names and the uncompressed bytes of the image's layers after the base's. */
async function newLayers(ref: string): Promise<{ names: string[]; bytes: string }> {
  const store = await openStore(root);
  const base = await loadImage(store, 'busybox:test');
  const img = await loadImage(store, ref);
  const names: string[] = [];
  let bytes = '';
  for (const l of img.manifest.layers.slice(base.manifest.layers.length)) {
    const path = store.path(l.digest);
    names.push(...execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).split('\n').filter(Boolean));
    bytes += execFileSync('zcat', ['-f', path], { encoding: 'latin1', maxBuffer: 1 << 28 });
  }
  return { names, bytes };
}

const slotOf = (id: string) => sha256Hex(sha256Of(id));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-mounts-'));
  root = join(dir, 'store');
  importBusyboxBase(dir, root);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('secrets: readable at the default and a custom target and as env, never in a layer, the config, the key or the store', async () => {
  const ctx = await context('secrets', {
    Dockerfile: `FROM busybox:test
RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -c1-64 > /h-default && stat -c '%a %u %g' /run/secrets/tok > /perm
RUN --mount=type=secret,id=tok,target=/etc/app/tok,mode=0440,uid=1234,gid=2345 --mount=type=secret,id=envsec,env=MY_SECRET \\
    sha256sum /etc/app/tok | cut -c1-64 > /h-custom && printf %s "$MY_SECRET" | sha256sum | cut -c1-64 > /h-env && stat -c '%a %u %g' /etc/app/tok >> /perm
RUN --mount=type=secret,id=absent [ ! -e /run/secrets/absent ] && touch /absent-skipped
RUN --mount=type=bind,target=/ctx/deep --mount=type=tmpfs,target=/scratch/t --mount=type=cache,target=/var/cache/x [ -f /ctx/deep/Dockerfile ] && touch /bound
`,
  });
  const secretFile = join(dir, 'tok.txt');
  await writeFile(secretFile, FILE_SECRET);
  const env = { ...process.env, HOST_TOKEN: ENV_SECRET };
  const flags = ['-t', 'sec:1', '--secret', `id=tok,src=${secretFile}`, '--secret', 'id=envsec,env=HOST_TOKEN'];
  const first = await buildMeta(ctx, flags, env);
  const hash = (s: string) => sha256Hex(sha256Of(s));
  const seen = wharf(['run', '--rm', 'sec:1', 'cat', '/h-default', '/h-custom', '/h-env', '/perm', '/absent-skipped']);
  assert.equal(seen.stdout, `${hash(FILE_SECRET)}\n${hash(FILE_SECRET)}\n${hash(ENV_SECRET)}\n400 0 0\n440 1234 2345\n`);

  // Not in the layers: neither the value nor the mount points the runtime created (/run, /etc/app/tok,
  // and those of bind, tmpfs and cache targets).
  const layers = await newLayers('sec:1');
  assert.deepEqual([...new Set(layers.names)].sort(), ['absent-skipped', 'bound', 'h-custom', 'h-default', 'h-env', 'perm']);
  for (const s of [FILE_SECRET, ENV_SECRET]) {
    assert.ok(!layers.bytes.includes(s));
    assert.ok(!first.r.stderr.includes(s) && !first.r.stdout.includes(s));
    // Nowhere under the store root: config, history, cache records, temp files.
    assert.equal(spawnSync('grep', ['-rlF', s, root]).status, 1, `${s} found in the store`);
  }
  const inspect = wharf(['inspect', 'sec:1']);
  assert.equal(inspect.status, 0, inspect.stderr);
  assert.ok(!inspect.stdout.includes(ENV_SECRET) && !inspect.stdout.includes(FILE_SECRET));
  assert.deepEqual(await readdir(join(root, 'tmp')).then((n) => n.filter((x) => x.includes('secret'))), []);

  // Other values are a cache hit (BuildKit keys a secret by id and options, not content).
  await writeFile(secretFile, 'changed');
  const again = await buildMeta(ctx, ['-t', 'sec:2', '--secret', `id=tok,src=${secretFile}`, '--secret', 'id=envsec,env=HOST_TOKEN'], { ...env, HOST_TOKEN: 'other' });
  assert.deepEqual(again.cached, [true, true, true, true, true]);
  assert.deepEqual(again.keys, first.keys);
});

test('secrets: a required one that is missing names the id and the flag; a bad --secret is a usage error', async () => {
  const ctx = await context('secret-required', { Dockerfile: 'FROM busybox:test\nRUN --mount=type=secret,id=npmrc,required=true cat /run/secrets/npmrc\n' });
  const r = wharf(['build', '--progress', 'plain', ctx]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /the secret "npmrc" is required/);
  assert.match(r.stderr, /--secret id=npmrc,src=FILE/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  for (const [spec, msg] of [
    ['src=/x', /give the id/],
    ['id=a,src=/does/not/exist', /cannot read \/does\/not\/exist \(ENOENT\)/],
    ['id=a,type=ssh', /type must be file or env/],
    ['id=a,bogus=1', /unknown key 'bogus'/],
  ] as const) {
    const u = wharf(['build', '--secret', spec, ctx]);
    assert.equal(u.status, 2, spec);
    assert.match(u.stderr, msg);
    assert.match(u.stderr, /--secret id=ID,src=FILE or --secret id=ID,env=VARIABLE/);
  }
});

test('ssh: the agent socket is forwarded at the default target with SSH_AUTH_SOCK, and a key file is refused', async () => {
  const sockDir = await mkdtemp(join(tmpdir(), 'wharf-agent-'));
  const agent = join(sockDir, 'agent.sock');
  const server: Server = createServer((c) => c.end('agent-hello\n'));
  await new Promise<void>((r) => server.listen(agent, r));
  try {
    const ctx = await context('ssh', {
      Dockerfile: `FROM busybox:test
RUN --mount=type=ssh [ -S "$SSH_AUTH_SOCK" ] && echo "$SSH_AUTH_SOCK" > /sock && stat -c '%a %u' "$SSH_AUTH_SOCK" >> /sock
RUN --mount=type=ssh,id=deploy,target=/agent,uid=1234 [ -S /agent ] && stat -c '%a %u' /agent > /sock2 && echo "\${SSH_AUTH_SOCK:-unset}" >> /sock2
`,
    });
    const env = { ...process.env, SSH_AUTH_SOCK: agent };
    await buildMeta(ctx, ['-t', 'ssh:1', '--ssh', 'default', '--ssh', `deploy=${agent}`], env);
    assert.equal(wharf(['run', '--rm', 'ssh:1', 'cat', '/sock', '/sock2']).stdout, '/run/buildkit/ssh_agent.0\n600 0\n600 1234\n/agent\n');
    assert.deepEqual((await newLayers('ssh:1')).names.sort(), ['sock', 'sock2']);

    const missing = await context('ssh-required', { Dockerfile: 'FROM busybox:test\nRUN --mount=type=ssh,required true\n' });
    const m = wharf(['build', '--progress', 'plain', missing]);
    assert.equal(m.status, 1);
    // Located at the RUN line now: the caret lines sit between the message and its hint.
    assert.match(m.stderr, /Dockerfile:2:1: error: .*the ssh agent "default" is required.*\n 2 \| RUN --mount=type=ssh,required true\n.*\nhint: .*--ssh default/);
    const key = join(sockDir, 'id_ed25519');
    await writeFile(key, 'not a socket');
    const k = wharf(['build', '--ssh', `default=${key}`, ctx]);
    assert.equal(k.status, 2);
    assert.match(k.stderr, /--ssh default=.*id_ed25519 is not a socket; key files are not supported, only ssh-agent sockets/);
  } finally {
    await new Promise((r) => server.close(r));
    await rm(sockDir, { recursive: true, force: true });
  }
});

test('cache sharing=private gives a step running beside another its own directory; shared shares it', async () => {
  const stage = (sharing: string, name: string) =>
    `FROM busybox:test AS ${name}\nRUN --mount=type=cache,id=${sharing}-c,target=/c,sharing=${sharing} touch /c/${name} && sleep 2 && ls /c > /seen\n`;
  const dockerfile = (sharing: string) => `${stage(sharing, 'a')}${stage(sharing, 'b')}FROM busybox:test\nCOPY --from=a /seen /a\nCOPY --from=b /seen /b\n`;
  const priv = await context('private', { Dockerfile: dockerfile('private') });
  await buildMeta(priv, ['-t', 'private:1']);
  assert.equal(wharf(['run', '--rm', 'private:1', 'cat', '/a', '/b']).stdout, 'a\nb\n');
  const cacheDirs = await readdir(join(root, 'cache-mounts'));
  assert.ok(cacheDirs.includes(slotOf('private-c')) && cacheDirs.includes(`${slotOf('private-c')}-1`));
  const shared = await context('shared', { Dockerfile: dockerfile('shared') });
  await buildMeta(shared, ['-t', 'shared:1']);
  assert.equal(wharf(['run', '--rm', 'shared:1', 'cat', '/a', '/b']).stdout, 'a\nb\na\nb\n');
});

test('cache sharing=locked serializes two wharf processes; a dead holder does not block; prune --cache-mounts', async () => {
  const ctx = await context('locked', {
    Dockerfile: `FROM busybox:test
ARG N
RUN --mount=type=cache,id=locked-c,target=/c,sharing=locked echo "start $N" >> /c/log && sleep 2 && echo "end $N" >> /c/log
`,
  });
  // A lock left by a process that is gone (its pid is dead) must not block anyone.
  const dead = spawnSync('true');
  await mkdir(join(root, 'cache-mounts'), { recursive: true });
  await writeFile(join(root, 'cache-mounts', `${slotOf('locked-c')}.lock`), `${dead.pid} 1 deadbeef\n`);
  const t0 = Date.now();
  const [x, y] = await Promise.all(['1', '2'].map((n) => wharfAsync(['build', '--progress', 'plain', '--build-arg', `N=${n}`, ctx])));
  assert.equal(x!.status, 0, x!.stderr);
  assert.equal(y!.status, 0, y!.stderr);
  assert.ok(Date.now() - t0 >= 4000, 'the two 2s steps overlapped');
  const log = (await readFile(join(root, 'cache-mounts', slotOf('locked-c'), 'log'), 'utf8')).trim().split('\n');
  assert.equal(log.length, 4);
  // Each build's start and end are adjacent: the second began only after the first's end.
  assert.equal(log[0]!.split(' ')[1], log[1]!.split(' ')[1]);
  assert.deepEqual(log.map((l) => l.split(' ')[0]), ['start', 'end', 'start', 'end']);

  // prune keeps what a running build holds and removes the rest.
  const busy = await context('busy', { Dockerfile: 'FROM busybox:test\nRUN --mount=type=cache,id=busy-c,target=/c,sharing=locked touch /c/x && sleep 3\n' });
  const running = wharfAsync(['build', '--progress', 'plain', busy]);
  const busyLock = join(root, 'cache-mounts', `${slotOf('busy-c')}.lock`);
  for (let i = 0; i < 200 && !(await stat(busyLock).catch(() => undefined)); i++) await new Promise((r) => setTimeout(r, 50));
  const p = wharf(['prune', '--cache-mounts']);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, new RegExp(`deleted cache mount ${slotOf('locked-c')}\n`));
  assert.match(p.stdout, /Deleted \d+ cache mount\(s\) \([\d.]+k?B\), kept 1 in use by a running build/);
  assert.ok(await stat(join(root, 'cache-mounts', slotOf('busy-c'))));
  assert.equal((await running).status, 0);
  const again = wharf(['prune', '--cache-mounts']);
  assert.match(again.stdout, /Deleted 1 cache mount\(s\)/);
  assert.deepEqual(await readdir(join(root, 'cache-mounts')), []);
});
