// Containers through `wharf serve` with the stock docker CLI: create, start, ps -a, stop, commit,
// rm on the store's container records (so `wharf ps -a` sees them, and the daemon sees the CLI's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { servedBusyboxSuite } from './helpers.js';

const suite = servedBusyboxSuite('wharf-serve-ct-');

const docker = (args: string[]): string => {
  const r = suite.server.docker(args);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const wharf = (args: string[]): string => {
  const r = suite.env.wharf(args);
  assert.equal(r.status, 0, `wharf ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(suite.env.root));

test('docker create / start / ps -a / stop / commit / rm through wharf serve; wharf ps -a lists them', async () => {
  const id = docker(['create', '--name', 'web', 'busybox:test', 'sh', '-c', 'echo made > /made.txt; exec sleep 600']).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.match(wharf(['ps', '-a']), /web\n/);
  assert.match(docker(['ps', '-a', '--format', '{{.Names}} {{.State}}']), /^web created$/m);
  assert.equal(docker(['start', 'web']).trim(), 'web');
  assert.match(docker(['ps', '--format', '{{.Names}} {{.State}}']), /^web running$/m);
  assert.match(wharf(['ps']), /Up since .* web/);
  for (let i = 0; i < 100 && !wharf(['exec', 'web', 'cat', '/made.txt']).includes('made'); i++) await sleep(50);
  // commit of the running container (frozen for it), with a change and a message.
  const img = docker(['commit', '-m', 'via docker', '-c', 'CMD ["cat", "/made.txt"]', 'web', 'webimg:1']).trim();
  assert.match(img, /^sha256:[0-9a-f]{64}$/);
  assert.equal(wharf(['run', '--rm', 'webimg:1']), 'made\n');
  assert.match(wharf(['history', 'webimg:1']), /via docker/);
  const rmRunning = suite.server.docker(['rm', 'web']);
  assert.notEqual(rmRunning.status, 0);
  assert.match(rmRunning.stderr, /cannot remove a running container/);
  assert.equal(docker(['stop', '-t', '1', 'web']).trim(), 'web');
  assert.match(docker(['ps', '-a', '--format', '{{.Names}} {{.State}}']), /^web exited$/m);
  assert.equal(docker(['inspect', '--format', '{{.State.Status}}', 'web']).trim(), 'exited');
  assert.equal(docker(['rm', 'web']).trim(), 'web');
  assert.doesNotMatch(wharf(['ps', '-a']), /web/);

  // A container the CLI made is the daemon's too.
  wharf(['create', '--name', 'fromcli', 'busybox:test', 'true']);
  assert.match(docker(['ps', '-a', '--format', '{{.Names}}']), /^fromcli$/m);
  docker(['rm', 'fromcli']);
  assert.equal(wharf(['ps', '-aq']), '');
  assert.deepEqual(mounts(), []);
});

test('docker run --rm through wharf serve leaves no container; docker run without --rm keeps one; default network is bridge', () => {
  assert.equal(docker(['run', '--rm', 'busybox:test', 'sh', '-c', 'echo hi; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort']), 'hi\nlo\ntap0\n');
  assert.equal(docker(['run', '--rm', '--network', 'none', 'busybox:test', 'sh', '-c', 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "']), 'lo\n');
  assert.equal(wharf(['ps', '-aq']), '');
  const kept = suite.server.docker(['run', '--name', 'kept', 'busybox:test', 'sh', '-c', 'echo a; exit 4']);
  assert.equal(kept.status, 4);
  assert.equal(kept.stdout, 'a\n');
  assert.match(wharf(['ps', '-a']), /Exited \(4\).* kept\n/);
  assert.equal(wharf(['logs', 'kept']), 'a\n');
  docker(['rm', 'kept']);
  assert.equal(wharf(['ps', '-aq']), '');
});
