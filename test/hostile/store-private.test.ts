// The store is closed to other local users: a setuid-root binary or a device node a RUN step made
// must not be reachable by `nobody` through <root>/snapshots, while builds that run as a non-root
// USER inside the container still work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharfBuildEnv } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
// Through a shell: setpriv resolves the path of the program it runs before its exec drops the
// capabilities it kept, so `setpriv … /path` would reach through a closed dir as root would.
const asNobody = (args: string[]) => spawnSync('setpriv', [...NOBODY, '/bin/sh', '-c', 'exec "$@"', 'sh', ...args], { encoding: 'utf8' });

let dir: string;
let env: ReturnType<typeof wharfBuildEnv>;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-store-private-'));
  // The test dir itself is open, so only the store's own modes stand between nobody and it.
  chmodSync(dir, 0o755);
  env = wharfBuildEnv(dir);
  env.importBusybox();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const mode = (p: string) => statSync(p).mode & 0o7777;

/** The snapshot path of a file the build made, found as root. */
function inSnapshots(root: string, file: string): string {
  for (const name of readdirSync(join(root, 'snapshots'))) {
    const p = join(root, 'snapshots', name, 'fs', file);
    if (existsSync(p)) return p;
  }
  throw new Error(`${file} is in no snapshot`);
}

test('a RUN as USER 65534 writes, COPY works, and nobody can neither list the store nor run a setuid binary a RUN planted', async () => {
  const ctx = await env.context('ctx', {
    'a.txt': 'from-a\n',
    'b.txt': 'from-b\n',
    Dockerfile: [
      'FROM busybox:test',
      'COPY a.txt /data/a.txt',
      'RUN mkdir /x && cp /bin/busybox /x/id && chmod 4755 /x/id && mknod /node c 1 3 && mkdir /out && chmod 777 /out',
      'USER 65534',
      'RUN echo hi > /out/mine && id -u > /out/uid',
      'COPY b.txt /out/b.txt',
      'RUN cat /out/b.txt /data/a.txt > /out/both',
      '',
    ].join('\n'),
  });
  const r = await env.build(ctx, ['-t', 'priv:1']);
  assert.equal(r.status, 0, r.stderr);
  const out = env.wharf(['run', '--rm', 'priv:1', 'cat', '/out/uid', '/out/mine', '/out/both']);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout, '65534\nhi\nfrom-b\nfrom-a\n');

  const root = env.root;
  assert.equal(mode(root), 0o710, 'store root');
  for (const d of ['snapshots', 'tmp', 'cache', 'cache-mounts', 'context', 'spare']) assert.equal(mode(join(root, d)), 0o700, d);
  const suid = inSnapshots(root, 'x/id');
  assert.equal(mode(suid) & 0o4000, 0o4000, 'the planted binary is setuid');
  const node = inSnapshots(root, 'node');
  assert.ok(statSync(node).isCharacterDevice());

  assert.notEqual(asNobody(['ls', root]).status, 0, 'nobody cannot list the store');
  assert.notEqual(asNobody(['ls', join(root, 'snapshots')]).status, 0, 'nobody cannot list the snapshots');
  const exec = asNobody([suid]);
  assert.notEqual(exec.status, 0, 'nobody cannot exec the setuid binary');
  assert.match(exec.stderr, /Permission denied/);
  assert.notEqual(asNobody(['head', '-c1', node]).status, 0, 'nobody cannot open the device node');
});

test('a store an older wharf made 0755 is tightened when it is opened', () => {
  const root = env.root;
  chmodSync(root, 0o755);
  chmodSync(join(root, 'snapshots'), 0o755);
  for (const name of readdirSync(join(root, 'snapshots'))) chmodSync(join(root, 'snapshots', name), 0o755);
  const suid = inSnapshots(root, 'x/id');
  // Open as an older wharf left it: the threat is real.
  assert.equal(asNobody([suid]).status, 0, 'the setuid binary runs for nobody in an open store');
  const r = env.wharf(['images']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(mode(root), 0o710);
  assert.equal(mode(join(root, 'snapshots')), 0o700);
  assert.notEqual(asNobody([suid]).status, 0, 'closed again after one command');
});

test('the runtime state dir a RUN uses on /dev/shm is 0700', async () => {
  const ctx = await env.context('shm', { Dockerfile: 'FROM busybox:test\nRUN sleep 1\n' });
  const seen = new Set<number>();
  // Not spawnSync: the poll below needs the event loop while the build runs.
  const child = spawn(process.execPath, [wharfBin, '--root', env.root, 'build', '--no-cache', '--progress', 'plain', ctx], { stdio: 'ignore' });
  const build = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const poll = setInterval(() => {
    for (const n of readdirSync('/dev/shm').filter((x) => x.startsWith('wharf-'))) {
      try {
        seen.add(mode(join('/dev/shm', n)));
      } catch {
        // gone meanwhile
      }
    }
  }, 20);
  try {
    assert.equal(await build, 0);
  } finally {
    clearInterval(poll);
  }
  assert.deepEqual([...seen], [0o700]);
});
