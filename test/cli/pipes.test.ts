import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

// Pipes and quiet output: archives to stdout and from stdin, -o shorthands, -q, closed pipes.
const suite = busyboxStoreForFile('wharf-pipes-');

const run = (args: string[], input?: Buffer) => spawnSync(process.execPath, [wharfBin, '--root', suite.env.root, ...args], { ...(input ? { input } : {}), maxBuffer: 64 << 20 });
const tarList = (tar: Buffer): string[] => spawnSync('tar', ['-t'], { input: tar, encoding: 'utf8' }).stdout.trim().split('\n');
/** Runs `wharf ARGS` with stdout on a terminal (script(1) gives it a pty). */
const onTty = (args: string[]) =>
  spawnSync('script', ['-qec', [process.execPath, wharfBin, '--root', suite.env.root, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], { encoding: 'utf8' });

const dockerfile = 'FROM busybox:test\nRUN echo hi > /hello\n';

test('build -q prints only the image ID on stdout; plain output names what it wrote, as BuildKit', async () => {
  const ctx = await suite.env.context('quiet', { Dockerfile: dockerfile });
  const q = run(['build', '-q', '-t', 'pipes:1', ctx]);
  assert.equal(q.status, 0, q.stderr.toString());
  assert.match(q.stdout.toString(), /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(q.stderr.toString(), '');
  const plain = run(['build', '--progress', 'plain', '-t', 'pipes:1', '-t', 'other/pipes:2', ctx]);
  const err = plain.stderr.toString();
  assert.ok(err.includes(`writing image ${q.stdout.toString().trim()}\nnaming to docker.io/library/pipes:1\nnaming to docker.io/other/pipes:2\n`), err);
});

test('-o type=tar,dest=- and type=oci,dest=- write the archive to stdout; -o - is type=tar', async () => {
  const ctx = await suite.env.context('tar', { Dockerfile: dockerfile });
  const tar = run(['build', '--progress', 'plain', '-o', 'type=tar,dest=-', ctx]);
  assert.equal(tar.status, 0, tar.stderr.toString());
  assert.ok(tarList(tar.stdout).includes('hello'), 'the rootfs tar on stdout');
  const dash = run(['build', '--progress', 'plain', '-o', '-', ctx]);
  assert.ok(tarList(dash.stdout).includes('hello'));
  const oci = run(['build', '--progress', 'plain', '-o', 'type=oci,dest=-', ctx]);
  assert.ok(tarList(oci.stdout).includes('index.json'));
  assert.deepEqual((await readdir(ctx)).sort(), ['Dockerfile'], 'no file named -');
});

test('-o dest=- is refused when stdout is a terminal', async () => {
  const ctx = await suite.env.context('tty', { Dockerfile: dockerfile });
  const r = onTty(['build', '--progress', 'plain', '-o', 'type=tar,dest=-', ctx]);
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /refusing to write an archive to a terminal/);
});

test('-o DIR is type=local,dest=DIR; an unknown -o key is an error naming it', async () => {
  const ctx = await suite.env.context('local', { Dockerfile: dockerfile });
  const dest = join(suite.dir, 'local-out');
  const r = run(['build', '--progress', 'plain', '-o', dest, ctx]);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(await readFile(join(dest, 'hello'), 'utf8'), 'hi\n');
  const bad = run(['build', '--progress', 'plain', '-o', `type=tar,dest=${join(suite.dir, 'x.tar')},compression=gzip`, ctx]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr.toString(), /type=tar takes no compression=/);
});

test('save without -o writes stdout, load reads stdin (no -i, or -i -); save refuses a terminal', async () => {
  const ctx = await suite.env.context('save', { Dockerfile: dockerfile });
  assert.equal(run(['build', '-q', '-t', 'pipes:save', ctx]).status, 0);
  const saved = run(['save', 'pipes:save']);
  assert.equal(saved.status, 0, saved.stderr.toString());
  assert.ok(tarList(saved.stdout).includes('manifest.json'));
  assert.equal(run(['rmi', 'pipes:save']).status, 0);
  const loaded = run(['load'], saved.stdout);
  assert.equal(loaded.status, 0, loaded.stderr.toString());
  assert.match(loaded.stdout.toString(), /Loaded image: pipes:save/);
  const dash = run(['load', '-i', '-', '-t', 'pipes:again'], saved.stdout);
  assert.equal(dash.status, 0, dash.stderr.toString());
  const tty = onTty(['save', 'pipes:save']);
  assert.notEqual(tty.status, 0);
  assert.match(tty.stdout, /wharf save: refusing to write an archive to a terminal/);
});

test('a closed pipe ends quietly: save | head -c 100 and history | head -1 exit 0, nothing on stderr', () => {
  for (const cmd of ['save pipes:1', 'history pipes:1']) {
    const r = spawnSync('bash', ['-c', `"$1" "$2" --root "$3" ${cmd} | head -c 100 >/dev/null; echo "status \${PIPESTATUS[0]}"`, 'bash', process.execPath, wharfBin, suite.env.root], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), 'status 0', cmd);
    assert.equal(r.stderr, '', cmd);
  }
});

test('stdout a FIFO another process made non-blocking, read only after a while: the archive arrives whole', async () => {
  // The CLI writes to a pipe's descriptor itself (src/cli/stdio.ts): a full pipe that says EAGAIN
  // is waited on, not an error.
  const ctx = await suite.env.context('nonblocking', { Dockerfile: dockerfile });
  const fifo = join(ctx, '..', 'nonblocking.fifo');
  execFileSync('mkfifo', [fifo]);
  const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const wr = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  const child = spawn(process.execPath, [wharfBin, '--root', suite.env.root, 'build', '--progress', 'plain', '-o', 'type=tar,dest=-', ctx], { stdio: ['ignore', wr, 'pipe'] });
  closeSync(wr);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await sleep(1500); // the 64 KiB pipe is full long before this
  const parts: Buffer[] = [];
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    try {
      const n = readSync(rd, buf);
      if (n === 0) break;
      parts.push(Buffer.from(buf.subarray(0, n)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      await sleep(5);
    }
  }
  closeSync(rd);
  assert.equal(await exited, 0, stderr);
  const tar = Buffer.concat(parts);
  assert.ok(tar.length > 1 << 20, `the whole archive (${tar.length} bytes)`);
  assert.ok(tarList(tar).includes('hello'));
});
