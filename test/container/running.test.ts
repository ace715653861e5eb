import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

// Detached containers: run -d, exec in the same PID namespace, stop's SIGKILL after the timeout,
// kill, start, logs -f, and commit of a running container (frozen while its changes are read,
// and a commit killed with -9 leaves a container rm removes).
const suite = busyboxStoreForFile('wharf-containers-running-');

const ok = (args: string[]): string => {
  const r = suite.env.wharf(args);
  assert.equal(r.status, 0, `wharf ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const status = (name: string): string => (JSON.parse(ok(['container', 'inspect', name])) as { State: { Status: string } }[])[0]!.State.Status;
const exitCode = (name: string): number => (JSON.parse(ok(['container', 'inspect', name])) as { State: { ExitCode: number } }[])[0]!.State.ExitCode;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('run -d prints the ID and returns; exec runs in the same PID namespace as the init', () => {
  const id = ok(['run', '-d', '--name', 'svc', 'busybox:test', 'sh', '-c', 'echo started; exec sleep 600']).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(status('svc'), 'running');
  assert.match(ok(['ps']), /svc/);
  assert.equal(ok(['exec', 'svc', 'cat', '/proc/1/cmdline']), 'sleep\x00600\x00');
  const ps = ok(['exec', 'svc', 'ps', '-o', 'pid,args']);
  assert.match(ps, /^\s*1 sleep 600$/m, ps);
  assert.equal(ok(['exec', '-e', 'X=y', 'svc', 'sh', '-c', 'echo $X $$']).split(' ')[0], 'y');
  const notRunning = suite.env.wharf(['exec', 'nosuch', 'true']);
  assert.match(notRunning.stderr, /no such container: nosuch/);
  assert.equal(ok(['logs', 'svc']), 'started\n');
  ok(['kill', 'svc']);
  for (let i = 0; i < 100 && status('svc') === 'running'; i++) spawnSync('sleep', ['0.05']);
  assert.equal(status('svc'), 'exited');
  assert.equal(exitCode('svc'), 137);
  const exec = suite.env.wharf(['exec', 'svc', 'true']);
  assert.equal(exec.status, 1);
  assert.match(exec.stderr, /container svc is not running\nhint: start it first/);
  ok(['start', 'svc']);
  assert.equal(status('svc'), 'running');
  ok(['rm', '-f', 'svc']);
  assert.equal(ok(['ps', '-aq']), '');
});

test('stop of a container that ignores SIGTERM kills it after the timeout', () => {
  ok(['run', '-d', '--name', 'stubborn', 'busybox:test', 'sh', '-c', 'trap "echo got TERM" TERM; while true; do sleep 0.1; done']);
  const rm = suite.env.wharf(['rm', 'stubborn']);
  assert.equal(rm.status, 1);
  assert.match(rm.stderr, /container stubborn is running/);
  const t0 = Date.now();
  ok(['stop', '-t', '2', 'stubborn']);
  const took = Date.now() - t0;
  assert.ok(took >= 2000 && took < 8000, `stop took ${took} ms`);
  assert.equal(status('stubborn'), 'exited');
  assert.equal(exitCode('stubborn'), 137);
  assert.match(ok(['logs', 'stubborn']), /got TERM/);
  // One that honours SIGTERM ends at once.
  ok(['run', '-d', '--name', 'polite', 'busybox:test', 'sh', '-c', 'trap "exit 3" TERM; while true; do sleep 0.1; done']);
  const t1 = Date.now();
  ok(['stop', '-t', '20', 'polite']);
  assert.ok(Date.now() - t1 < 5000);
  assert.equal(exitCode('polite'), 3);
  ok(['rm', 'stubborn', 'polite']);
});

test('logs -f follows the output until the container ends', () => {
  ok(['run', '-d', '--name', 'talker', 'busybox:test', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done; echo oops >&2']);
  const r = suite.env.wharf(['logs', '-f', 'talker']);
  assert.equal(r.stdout, 'line 1\nline 2\nline 3\nline 4\nline 5\noops\n');
  assert.equal(status('talker'), 'exited');
  ok(['rm', 'talker']);
});

test('commit of a running container freezes it while reading, then it runs on', async () => {
  ok(['run', '-d', '--name', 'live', 'busybox:test', 'sh', '-c', 'echo before > /state; exec sleep 600']);
  for (let i = 0; i < 50 && !ok(['exec', 'live', 'cat', '/state']).includes('before'); i++) await sleep(50);
  ok(['container', 'config', 'live', '--label', 'edited=while-running']);
  const id = ok(['commit', 'live', 'live:1']).trim();
  assert.match(id, /^sha256:/);
  assert.equal(status('live'), 'running', 'resumed after the commit');
  assert.equal(ok(['exec', 'live', 'echo', 'still here']), 'still here\n');
  assert.equal(ok(['run', '--rm', 'live:1', 'cat', '/state']), 'before\n');
  // Only the container's own change: not the mount points (/proc, /etc/hosts, …) the runtime made.
  const [img] = JSON.parse(ok(['inspect', 'live:1'])) as { RootFS: { Layers: string[] } }[];
  const layer = join(suite.env.root, 'blobs', 'sha256', img!.RootFS.Layers.at(-1)!.slice('sha256:'.length));
  assert.equal(spawnSync('tar', ['-tf', layer], { encoding: 'utf8' }).stdout, 'state\n');
  ok(['stop', '-t', '0', 'live']);
  // The watcher's final record keeps the edit made while it ran.
  const [after] = JSON.parse(ok(['container', 'inspect', 'live'])) as { Config: { Labels: Record<string, string> } }[];
  assert.equal(after!.Config.Labels['edited'], 'while-running');
  ok(['rm', 'live']);
});

test('a commit killed with -9 while the container is frozen leaves a container ps shows and rm -f removes', async () => {
  ok(['run', '-d', '--name', 'big', 'busybox:test', 'sh', '-c', 'dd if=/dev/zero of=/big bs=1M count=300 2>/dev/null; echo ready; exec sleep 600']);
  for (let i = 0; i < 200 && !ok(['logs', 'big']).includes('ready'); i++) await sleep(50);
  const [info] = JSON.parse(ok(['container', 'inspect', 'big'])) as { Id: string }[];
  const runcRoot = join(suite.env.root, 'containers', info!.Id, 'runc');
  const runcId = `wharf-c-${info!.Id.slice(0, 16)}`;
  const commit = spawn(process.execPath, [wharfBin, '--root', suite.env.root, 'commit', 'big', 'big:1'], { stdio: 'ignore' });
  let paused = false;
  for (let i = 0; i < 400 && !paused; i++) {
    const s = spawnSync('runc', ['--root', runcRoot, 'state', runcId], { encoding: 'utf8' });
    paused = s.status === 0 && (JSON.parse(s.stdout) as { status: string }).status === 'paused';
    if (!paused) await sleep(10);
  }
  assert.ok(paused, 'the commit froze the container');
  commit.kill('SIGKILL');
  await new Promise((r) => commit.once('exit', r));
  assert.match(ok(['ps', '-a']), /big/);
  ok(['rm', '-f', 'big']);
  assert.equal(ok(['ps', '-aq']), '');
  assert.equal(readFileSync('/proc/mounts', 'utf8').includes(join(suite.env.root, 'containers')), false);
  // The next command sweeps the killed commit's temp files; the store is consistent.
  const f = suite.env.wharf(['fsck']);
  assert.equal(f.status, 0, f.stdout);
  assert.deepEqual(readdirSync(join(suite.env.root, 'tmp')).filter((n) => !n.startsWith('.')), []);
});
