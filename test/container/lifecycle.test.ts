import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, readdir, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

// Working containers end to end through the CLI: records under the store, run keeps the container,
// ps/rm/inspect, name errors, a wharf killed mid-run, and prune/fsck with a container's image.
const suite = busyboxStoreForFile('wharf-containers-');

const ok = (args: string[]): string => {
  const r = suite.env.wharf(args);
  assert.equal(r.status, 0, `wharf ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const psRow = (name: string): string | undefined => ok(['ps', '-a']).split('\n').find((l) => l.trimEnd().endsWith(` ${name}`));
const readCmdline = (pid: string): string => {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) ? '' : readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};
const mountsUnder = (dir: string) => readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(dir));

test('run without --rm keeps the stopped container with its changes; commit makes an image of them; rm removes it', async () => {
  const out = ok(['run', '--name', 'keep', 'busybox:test', 'sh', '-c', 'echo kept > /kept.txt; echo done']);
  assert.equal(out, 'done\n');
  assert.match(psRow('keep') ?? '', /Exited \(0\)/);
  assert.doesNotMatch(ok(['ps']), /keep/, 'ps without -a lists running containers only');
  const [info] = JSON.parse(ok(['container', 'inspect', 'keep'])) as { Id: string; State: { Status: string; ExitCode: number }; GraphDriver: { Data: { UpperDir: string } } }[];
  assert.equal(info!.State.Status, 'exited');
  assert.equal(readFileSync(join(info!.GraphDriver.Data.UpperDir, 'kept.txt'), 'utf8'), 'kept\n');
  const id = ok(['commit', '-m', 'keep it', '-a', 'Tester', '-c', 'CMD ["cat", "/kept.txt"]', '-c', 'ENV GREETING=hi', 'keep', 'kept:1']).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(ok(['run', '--rm', 'kept:1']), 'kept\n');
  const [img] = JSON.parse(ok(['inspect', 'kept:1'])) as { Id: string; Author: string; Config: { Cmd: string[]; Env: string[] } }[];
  assert.equal(img!.Id, id);
  assert.equal(img!.Author, 'Tester');
  assert.deepEqual(img!.Config.Cmd, ['cat', '/kept.txt']);
  assert.ok(img!.Config.Env.includes('GREETING=hi'));
  assert.match(ok(['history', 'kept:1']), /keep it/);
  ok(['rm', 'keep']);
  assert.equal(psRow('keep'), undefined);
  assert.equal(existsSync(join(suite.env.root, 'containers', info!.Id)), false);
});

test('run --rm leaves no container; create prints an ID; name conflicts and unknown names are clear errors', () => {
  ok(['run', '--rm', 'busybox:test', 'true']);
  assert.equal(ok(['ps', '-aq']), '');
  const id = ok(['create', '--name', 'dup', 'busybox:test']).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const again = suite.env.wharf(['create', '--name', 'dup', 'busybox:test']);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /error: the container name "dup" is already in use by container [0-9a-f]{12}/);
  const missing = suite.env.wharf(['rm', 'nosuch']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /error: no such container: nosuch\nhint: `wharf ps -a` lists/);
  const noImage = suite.env.wharf(['create', 'nosuch:image']);
  assert.match(noImage.stderr, /image nosuch:image not found/);
  assert.match(psRow('dup') ?? '', /Created/);
  assert.equal(suite.env.wharf(['rm', id.slice(0, 8)]).status, 0, 'an ID prefix names it');
  assert.equal(ok(['ps', '-aq']), '');
});

test('a wharf killed with -9 during run leaves a container that ps shows (still running) and rm removes, process and mounts and all', async () => {
  const child = spawn(process.execPath, [wharfBin, '--root', suite.env.root, 'run', '--name', 'victim', 'busybox:test', 'sleep', '30071'], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !/Up since/.test(psRow('victim') ?? ''); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(psRow('victim') ?? '', /Up since/);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.match(psRow('victim') ?? '', /Up since .*its wharf watcher is gone/, 'its watcher is gone but its process runs on');
  const dir = join(suite.env.root, 'containers');
  assert.ok(mountsUnder(dir).length > 0, 'the killed run left its rootfs mounted');
  ok(['rm', 'victim']);
  assert.equal(psRow('victim'), undefined);
  assert.ok(!readdirSync('/proc').some((p) => /^\d+$/.test(p) && readCmdline(p) === 'sleep\x0030071\x00'), 'rm killed its process');
  assert.deepEqual(mountsUnder(dir), []);
  assert.deepEqual(await readdir(dir), []);
});

test('a container keeps its image through rmi and prune; fsck is clean; rm then frees it', async () => {
  const ctx = await suite.env.context('held', { Dockerfile: 'FROM busybox:test\nRUN echo held > /held\n' });
  assert.equal((await suite.env.build(ctx, ['-t', 'held:1'])).status, 0);
  ok(['create', '--name', 'holder', 'held:1', 'cat', '/held']);
  ok(['rmi', 'held:1']);
  ok(['prune']);
  const f = suite.env.wharf(['fsck']);
  assert.equal(f.status, 0, f.stdout);
  assert.match(f.stdout, /kept by working containers/);
  assert.equal(ok(['run', '--rm', '--name', 'h2', 'busybox:test', 'true']), '');
  ok(['start', 'holder']);
  for (let i = 0; i < 100 && !/Exited/.test(psRow('holder') ?? ''); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(ok(['logs', 'holder']), 'held\n');
  ok(['rm', 'holder']);
  const after = suite.env.wharf(['fsck']);
  assert.doesNotMatch(after.stdout, /kept by working containers/);
  assert.match(after.stdout, /used by nothing/);
});

test('prune removes the dir of a create killed before its record was written, not a fresh one', async () => {
  const dir = join(suite.env.root, 'containers');
  const old = join(dir, 'a'.repeat(64));
  const fresh = join(dir, 'b'.repeat(64));
  await mkdir(old, { recursive: true });
  await mkdir(fresh, { recursive: true });
  await utimes(old, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
  assert.equal(ok(['ps', '-aq']), '', 'neither is a container');
  ok(['prune']);
  assert.equal(existsSync(old), false);
  assert.equal(existsSync(fresh), true);
  await rm(fresh, { recursive: true });
});
