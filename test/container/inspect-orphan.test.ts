import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

// Top-level inspect finds containers as well as images; a container whose foreground `wharf run`
// was killed with -9 reads as running while its process lives, and stop / rm -f end it.
const suite = busyboxStoreForFile('wharf-containers-orphan-');

const ok = (args: string[]): string => {
  const r = suite.env.wharf(args);
  assert.equal(r.status, 0, `wharf ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const state = (name: string) => (JSON.parse(ok(['inspect', '--type', 'container', name])) as { State: { Status: string; Orphaned?: boolean } }[])[0]!.State;
const psRow = (name: string): string => ok(['ps', '-a']).split('\n').find((l) => l.trimEnd().endsWith(` ${name}`)) ?? '';
/** Live processes whose argv is exactly `argv`. */
const pidsOf = (argv: string[]): number[] => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === argv.join('\0') + '\0' && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
});
async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await sleep(50)) if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
}

test('wharf inspect shows a container or an image by name, and names NAME when neither exists', () => {
  ok(['create', '--name', 'box', 'busybox:test', 'true']);
  const [c] = JSON.parse(ok(['inspect', 'box'])) as { Name: string; State: { Status: string } }[];
  assert.equal(c!.Name, 'box');
  assert.equal(c!.State.Status, 'created');
  const [img] = JSON.parse(ok(['inspect', 'busybox:test'])) as { RepoTags: string[] }[];
  assert.deepEqual(img!.RepoTags, ['busybox:test']);
  assert.equal(ok(['inspect', '-f', '{{.Name}}', 'box']), 'box\n');
  const none = suite.env.wharf(['inspect', 'nothing-here']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /^error: no such image or container: nothing-here\nhint: `wharf images` lists the images and `wharf ps -a` the containers/);
  const onlyImage = suite.env.wharf(['inspect', '--type', 'image', 'box']);
  assert.match(onlyImage.stderr, /image box:latest not found/);
  assert.match(suite.env.wharf(['inspect', '--type', 'container', 'busybox:test']).stderr, /no such container: busybox:test/);
  ok(['rm', 'box']);
});

async function orphan(name: string, argv: string[]): Promise<void> {
  const child = spawn(process.execPath, [wharfBin, '--root', suite.env.root, 'run', '--network', 'none', '--name', name, 'busybox:test', ...argv], { stdio: 'ignore' });
  await until('the container to run', () => pidsOf(argv).length === 1);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

test('after kill -9 of a foreground run, ps and inspect say running while the process lives; stop ends it', async () => {
  const argv = ['sleep', '6101'];
  await orphan('orph', argv);
  assert.match(psRow('orph'), /Up since .*its wharf watcher is gone/);
  assert.deepEqual(state('orph'), { ...state('orph'), Status: 'running', Orphaned: true });
  assert.match(ok(['ps']), /orph/, 'ps without -a lists it: it runs');
  assert.equal(ok(['exec', 'orph', 'cat', '/proc/1/cmdline']), 'sleep\x006101\x00');
  const start = suite.env.wharf(['start', 'orph']);
  assert.match(start.stderr, /container orph is already running/);
  ok(['stop', '-t', '1', 'orph']);
  assert.deepEqual(pidsOf(argv), []);
  assert.equal(state('orph').Status, 'exited');
  assert.match(psRow('orph'), /Exited/);
  // It starts again as any stopped container.
  ok(['start', 'orph']);
  await until('the restarted container', () => pidsOf(argv).length === 1);
  ok(['rm', '-f', 'orph']);
  assert.deepEqual(pidsOf(argv), []);
});

test('rm (without -f) of an orphaned container kills its process: it is what a killed wharf left', async () => {
  const argv = ['sleep', '6102'];
  await orphan('orph2', argv);
  assert.equal(pidsOf(argv).length, 1);
  ok(['rm', 'orph2']);
  assert.deepEqual(pidsOf(argv), []);
  assert.equal(psRow('orph2'), '');
  // A running container with its watcher alive still needs -f.
  ok(['run', '-d', '--network', 'none', '--name', 'watched', 'busybox:test', 'sleep', '6104']);
  assert.match(suite.env.wharf(['rm', 'watched']).stderr, /container watched is running/);
  ok(['rm', '-f', 'watched']);
  assert.deepEqual(pidsOf(['sleep', '6104']), []);
  // Once its process is gone by itself, ps says stopped (uncleanly), not running.
  await orphan('orph3', ['sleep', '6103']);
  for (const pid of pidsOf(['sleep', '6103'])) process.kill(pid, 'SIGKILL');
  await until('ps to say stopped', () => /Stopped \(uncleanly/.test(psRow('orph3')));
  ok(['rm', 'orph3']);
  assert.equal(ok(['ps', '-aq']), '');
});
