import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

// `wharf build --push`, `-o type=registry` / `type=image,push=true`, a push that fails after the
// build, and a push killed with SIGKILL mid-upload, against a real docker-registry.
let dir: string;
let reg: TestRegistry;
let root: string;
const wharf = (r: string, args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', r, ...args], { encoding: 'utf8' });
const skopeoDigest = (name: string) => (JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`], { encoding: 'utf8' })) as { Digest: string }).Digest;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-push-build-'));
  reg = await startRegistry();
  root = join(dir, 'store');
  importBusyboxBase(dir, root);
});
after(async () => {
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('build --push with two -t names pushes each and prints the digest; docker-style lines go to stderr', async () => {
  const ctx = await writeContext(dir, 'ctx', { Dockerfile: 'FROM busybox:test\nRUN echo built-and-pushed > /msg\nCMD ["cat", "/msg"]\n' });
  const a = `${reg.host}/team/a:1`;
  const b = `${reg.host}/team/b:2`;
  const r = wharf(root, ['build', '--progress', 'plain', '--push', '-t', a, '-t', b, ctx]);
  assert.equal(r.status, 0, r.stderr);
  const pushed = [...r.stderr.matchAll(/^pushed (\S+)@(sha256:[0-9a-f]{64})$/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(pushed.map((p) => p[0]), [a, b]);
  assert.equal(skopeoDigest(a), pushed[0]![1]);
  assert.equal(skopeoDigest(b), pushed[1]![1]);
  assert.match(r.stderr, /^[0-9a-f]{12}: Mounted from team\/a$/m, 'the second name mounts what the first sent');
  const other = join(dir, 'other');
  assert.equal(wharf(other, ['pull', '-q', b]).status, 0);
  assert.equal(wharf(other, ['run', '--rm', b]).stdout, 'built-and-pushed\n');
});

test('-o type=registry,name=… and -o type=image,name=…,push=true push (and tag) the image; type=image without push only tags it', async () => {
  const ctx = await writeContext(dir, 'ctx2', { Dockerfile: 'FROM busybox:test\nRUN echo via-output > /msg\n' });
  const viaRegistry = `${reg.host}/team/out:reg`;
  const r = wharf(root, ['build', '--progress', 'plain', '-o', `type=registry,name=${viaRegistry}`, ctx]);
  assert.equal(r.status, 0, r.stderr);
  const m = new RegExp(`^pushed ${viaRegistry.replace(/[.:/]/g, '\\$&')}@(sha256:[0-9a-f]{64})$`, 'm').exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.equal(skopeoDigest(viaRegistry), m[1]);
  assert.equal(wharf(root, ['inspect', viaRegistry]).status, 0, 'tagged here too');

  const viaImage = `${reg.host}/team/out:image`;
  // With --progress json, stderr stays one JSON event per line, the push included.
  const i = wharf(root, ['build', '--progress', 'json', '-o', `type=image,name=${viaImage},push=true`, ctx]);
  assert.equal(i.status, 0, i.stderr);
  const events = i.stderr.trim().split('\n').map((line) => JSON.parse(line) as { type: string; name?: string; digest?: string });
  const pushedEvent = events.find((e) => e.type === 'pushed');
  assert.deepEqual([pushedEvent?.name, pushedEvent?.digest], [viaImage, m[1]]);
  assert.equal(skopeoDigest(viaImage), m[1], 'the same image, the same manifest');

  const localOnly = `${reg.host}/team/out:local`;
  const l = wharf(root, ['build', '--progress', 'plain', '-o', `type=image,name=${localOnly}`, ctx]);
  assert.equal(l.status, 0, l.stderr);
  assert.doesNotMatch(l.stderr, /^pushed /m);
  assert.equal(wharf(root, ['inspect', localOnly]).status, 0);
  assert.notEqual(spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${localOnly}`]).status, 0, 'not in the registry');

  const none = wharf(root, ['build', '--progress', 'plain', '--push', ctx]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /--push: nothing to push to: name the image with -t NAME/);
  const badPush = wharf(root, ['build', '--progress', 'plain', '-o', `type=image,name=${localOnly},push=yes`, ctx]);
  assert.equal(badPush.status, 2);
  assert.match(badPush.stderr, /push must be true or false/);
});

test('a push that fails after the build exits non-zero, names the host and keeps the image tagged', async () => {
  const ctx = await writeContext(dir, 'ctx3', { Dockerfile: 'FROM busybox:test\nRUN echo unreachable > /msg\n' });
  const name = `127.0.0.1:${await freePort()}/team/nowhere:1`;
  const r = wharf(root, ['build', '--progress', 'plain', '--push', '-t', name, ctx]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`pushing ${name.replace(/[.:/]/g, '\\$&')}: .*127\\.0\\.0\\.1:\\d+`));
  assert.match(r.stderr, /is built and tagged .* here: `wharf push .*` tries again/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(wharf(root, ['inspect', name]).status, 0);
});

for (const [how, flags] of [['chunked', ['--chunk-size', '256k']], ['streamed while compressed', []]] as const) {
  test(`kill -9 in the middle of a push (${how}): fsck is clean, no temp files stay, and the rerun completes`, async () => {
    const repo = how === 'chunked' ? 'big' : 'streamed';
    const ctx = await writeContext(dir, `ctx-${repo}`, { Dockerfile: `FROM busybox:test\nRUN head -c 40000000 /dev/urandom > /big && md5sum /big > /sum && echo ${repo} > /msg\n` });
    const name = `${reg.host}/team/${repo}:1`;
    assert.equal(wharf(root, ['build', '--progress', 'plain', '-t', name, ctx]).status, 0);
    const child = spawn(process.execPath, [wharfBin, '--root', root, 'push', ...flags, name], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const uploads = join(reg.dir, 'storage', 'docker', 'registry', 'v2', 'repositories', 'team', repo, '_uploads');
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(existsSync(uploads) && readdirSync(uploads).length > 0)) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(child.exitCode, null, 'still pushing when killed');
    child.kill('SIGKILL');
    await exited;

    const fsck = wharf(root, ['fsck']);
    assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
    assert.match(fsck.stdout, / 0 problem\(s\)/);
    assert.deepEqual(readdirSync(join(root, 'tmp')).filter((n) => n.startsWith(`${child.pid}.`)), [], 'the killed push left no temp files');

    const again = wharf(root, ['push', name]);
    assert.equal(again.status, 0, again.stderr);
    const m = /^1: digest: (sha256:[0-9a-f]{64})/m.exec(again.stdout);
    assert.ok(m, again.stdout);
    assert.equal(skopeoDigest(name), m[1]);
    assert.equal(wharf(root, ['fsck']).status, 0);
    const other = join(dir, `after-kill-${repo}`);
    assert.equal(wharf(other, ['pull', '-q', name]).status, 0);
    assert.equal(wharf(other, ['run', '--rm', name, 'md5sum', '-c', '/sum']).stdout, '/big: OK\n');
  });
}
