// Exit statuses of interrupted builds (130 for SIGINT, 143 for SIGTERM), and a reader that closes
// the output pipe early (`wharf images | head -1`): quiet, exit 0, no stack trace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { wharfBuildEnv } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';
import { mountsUnder } from '../../src/util/index.js';

let dir: string;
let env: ReturnType<typeof wharfBuildEnv>;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-store-exit-'));
  env = wharfBuildEnv(dir);
  env.importBusybox();
  for (let i = 0; i < 50; i++) assert.equal(env.wharf(['tag', 'busybox:test', `many:${i}`]).status, 0);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs wharf with its stdout pipe closed by the reader before anything is written. */
function withClosedStdout(args: string[]): Promise<Outcome> {
  const child = spawn(process.execPath, [wharfBin, '--root', env.root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => child.on('close', (code, signal) => res({ code, signal, stderr })));
}

for (const args of [['images'], ['history', 'busybox:test'], ['images', '--format', 'json']]) {
  test(`wharf ${args.join(' ')} into a closed pipe: exit 0, nothing on stderr`, async () => {
    const r = await withClosedStdout(args);
    assert.deepEqual(r, { code: 0, signal: null, stderr: '' });
  });
}

test('`wharf images | head -1` in a shell: one line, exit 0, nothing on stderr', () => {
  const r = spawnSync('bash', ['-c', '"$1" "$2" --root "$3" images | head -1; echo "status ${PIPESTATUS[0]}"', 'bash', process.execPath, wharfBin, env.root], { encoding: 'utf8' });
  assert.match(r.stdout, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\nstatus 0\n$/);
  assert.equal(r.stderr, '');
});

test('a run whose output pipe closes ends (no hang) and leaves no mount', async () => {
  const t0 = Date.now();
  const r = await withClosedStdout(['run', '--rm', 'busybox:test', 'yes']);
  assert.ok(Date.now() - t0 < 20_000, 'it ended');
  assert.equal(r.code, 141, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|at .*\.js/);
  assert.deepEqual(mountsUnder(env.root), []);
});

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${signal} during a RUN: exit ${code}, "build interrupted", nothing left mounted`, async () => {
    const ctx = await env.context(`sig-${signal}`, { Dockerfile: `FROM busybox:test\nRUN echo started-${signal} && sleep 30\n` });
    const child = spawn(process.execPath, [wharfBin, '--root', env.root, 'build', '--progress', 'plain', '--no-cache', ctx], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    const end = Date.now() + 15_000;
    while (!stderr.includes(`started-${signal}`) && Date.now() < end) await sleep(20);
    assert.ok(stderr.includes(`started-${signal}`), stderr);
    child.kill(signal);
    assert.equal(await closed, code, stderr);
    assert.match(stderr, /error: build interrupted/);
    assert.doesNotMatch(stderr, /internal error/);
    assert.deepEqual(mountsUnder(env.root), []);
  });
}
