// `docker login` and an authenticated push through wharf serve (POST /auth checks the credentials
// against the registry; X-Registry-Auth carries them per request, nothing is stored server-side),
// and several clients building at once into the one store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharfBuildEnv, type WharfBuildEnv } from '../helpers/wharf-build.js';
import { makeHtpasswd, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { DOCKER } from '../helpers/dockerd.js';
import { startServe, type ServeChild } from './helpers.js';

const suite = {} as { dir: string; env: WharfBuildEnv };
let server: ServeChild;
let registry: TestRegistry;

before(async () => {
  suite.dir = await mkdtemp(join(tmpdir(), 'wharf-serve-auth-'));
  suite.env = wharfBuildEnv(suite.dir);
  suite.env.importBusybox();
  server = await startServe(suite.dir, suite.env.root);
  registry = await startRegistry({ htpasswd: await makeHtpasswd(join(suite.dir, 'htpasswd'), 'alice', 's3cret') });
});
after(async () => {
  await server?.stop();
  await registry?.stop();
  if (suite.dir) await rm(suite.dir, { recursive: true, force: true });
});

test('docker login checks the password through wharf serve; the push sends it in X-Registry-Auth', async () => {
  const wrong = server.docker(['login', '-u', 'alice', '--password-stdin', registry.host], 'nope\n');
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /401|unauthorized|denied|refused/i);
  const name = `${registry.host}/private/bb:1`;
  assert.equal(server.docker(['tag', 'busybox:test', name]).status, 0);
  // Without credentials the registry refuses the push.
  const anon = server.docker(['push', name]);
  assert.match(anon.stdout + anon.stderr, /unauthorized|authentication|401|denied/i);
  const ok = server.docker(['login', '-u', 'alice', '--password-stdin', registry.host], 's3cret\n');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /Login Succeeded/);
  const push = server.docker(['push', name]);
  assert.equal(push.status, 0, push.stderr);
  assert.match(push.stdout, /1: digest: sha256:[0-9a-f]{64}/);
});

test('four clients build at once into one store; each gets its own image', async () => {
  const builds = await Promise.all([0, 1, 2, 3].map(async (i) => {
    const ctx = await suite.env.context(`conc-${i}`, { Dockerfile: `FROM busybox:test\nRUN echo ${i} > /i && sleep 0.3\nRUN cat /i\n` });
    return new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const c = spawn(DOCKER, ['build', '-t', `conc:${i}`, ctx], { env: { ...process.env, DOCKER_HOST: `unix://${server.socket}`, DOCKER_BUILDKIT: '0' } });
      let stdout = '';
      c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      c.stderr.on('data', (b: Buffer) => (stdout += b.toString()));
      c.on('close', (status) => resolve({ status, stdout }));
    });
  }));
  for (const [i, b] of builds.entries()) {
    assert.equal(b.status, 0, b.stdout);
    assert.match(b.stdout, new RegExp(`Successfully tagged conc:${i}`));
    assert.equal(suite.env.wharf(['run', '--rm', `conc:${i}`, 'cat', '/i']).stdout, `${i}\n`);
  }
  const fsck = suite.env.wharf(['fsck']);
  assert.equal(fsck.status, 0, fsck.stdout);
});
