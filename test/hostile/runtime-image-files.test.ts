/**
 * Files an image or a context put where wharf expects a regular file: /etc/passwd and /etc/group
 * of a RUN's image, the Dockerfile and .dockerignore of a context, the Dockerfile of a stdin
 * context tar, the stat cache. A FIFO there used to hang wharf in a synchronous read (deaf to
 * Ctrl-C), a `c 1 5` device (/dev/zero) to be read until wharf was OOM-killed. Now each is a clear
 * error naming the file, at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { lstat, mkdir, readFile, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';
import { StatCache } from '../../src/context/index.js';

const suite = busyboxStoreForFile('wharf-image-files-');

/** `wharf build` with a deadline: a hang fails the test instead of stalling it. */
function build(args: string[], input?: Buffer) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [wharfBin, '--root', suite.env.root, 'build', '--progress', 'plain', ...args], {
    encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL', ...(input ? { input } : {}),
  });
  assert.equal(r.signal, null, `wharf hung (killed after ${Date.now() - t0} ms): ${r.stderr}`);
  return { ...r, ms: Date.now() - t0 };
}

function refusedClearly(r: ReturnType<typeof build>, message: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('an image whose /etc/passwd is a FIFO: the next RUN fails at once naming the file', async () => {
  const ctx = await suite.env.context('fifo-passwd', { Dockerfile: 'FROM busybox:test\nRUN rm /etc/passwd && mkfifo /etc/passwd\nRUN echo never\n' });
  const r = build([ctx]);
  refusedClearly(r, /error: \/etc\/passwd in the image: is a FIFO/);
  assert.doesNotMatch(r.stderr, /\nnever/);
});

test('an image whose /etc/group is /dev/zero (c 1 5): refused, not read until out of memory', async () => {
  const ctx = await suite.env.context('zero-group', { Dockerfile: 'FROM busybox:test\nRUN rm /etc/group && mknod /etc/group c 1 5\nUSER app\nRUN echo never\n' });
  refusedClearly(build([ctx]), /error: \/etc\/group in the image: is a character device/);
});

test('a COPY --chown by name reads the same files the same way', async () => {
  const ctx = await suite.env.context('chown-fifo', {
    Dockerfile: 'FROM busybox:test\nRUN rm /etc/passwd && mkfifo /etc/passwd\nCOPY --chown=app f /f\n',
    f: 'x',
  });
  refusedClearly(build([ctx]), /error: \/etc\/passwd in the image: is a FIFO/);
});

test('a symlink loop at /etc/passwd is a clear error too', async () => {
  const ctx = await suite.env.context('loop-passwd', { Dockerfile: 'FROM busybox:test\nRUN rm /etc/passwd && ln -s /etc/passwd2 /etc/passwd && ln -s /etc/passwd /etc/passwd2\nRUN echo never\n' });
  refusedClearly(build([ctx]), /error: \/etc\/passwd: too many levels of symbolic links/);
});

test('SIGTERM still stops a build whose image has a FIFO /etc/passwd, promptly and leaving no mount', async () => {
  const ctx = await suite.env.context('fifo-term', { Dockerfile: 'FROM busybox:test\nRUN rm /etc/passwd && mkfifo /etc/passwd && sleep 60\n' });
  const child = spawn(process.execPath, [wharfBin, '--root', suite.env.root, 'build', '--progress', 'plain', ctx], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (stderr.includes('RUN rm /etc/passwd')) {
        clearInterval(poll);
        setTimeout(resolve, 500);
      }
    }, 50);
  });
  const t0 = Date.now();
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.notEqual(code, 0);
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  assert.ok(!mounts.includes(suite.env.root), 'a mount of the store is left');
});

test('a context whose Dockerfile is a FIFO is refused at once', async () => {
  const ctx = join(suite.dir, 'ctx-fifo');
  await mkdir(ctx);
  execFileSync('mkfifo', [join(ctx, 'Dockerfile')]);
  refusedClearly(build([ctx]), /error: the Dockerfile .*ctx-fifo\/Dockerfile: is a FIFO/);
  // `wharf plan` reads it the same way.
  const plan = spawnSync(process.execPath, [wharfBin, '--root', suite.env.root, 'plan', ctx], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(plan.signal, null, 'plan hung');
  assert.match(plan.stderr, /the Dockerfile .*: is a FIFO/);
});

test('a context whose Dockerfile is a device, or whose .dockerignore is a FIFO, is refused at once', async () => {
  const dev = join(suite.dir, 'ctx-dev');
  await mkdir(dev);
  execFileSync('mknod', [join(dev, 'Dockerfile'), 'c', '1', '5']);
  refusedClearly(build([dev]), /error: the Dockerfile .*ctx-dev\/Dockerfile: is a character device/);

  const ign = await suite.env.context('ctx-ignore', { Dockerfile: 'FROM busybox:test\n' });
  execFileSync('mkfifo', [join(ign, '.dockerignore')]);
  refusedClearly(build([ign]), /error: ignore file .*ctx-ignore\/\.dockerignore: is a FIFO/);
});

test('a stdin context tar whose Dockerfile is a FIFO is refused at once', async () => {
  const src = join(suite.dir, 'tar-src');
  await mkdir(src);
  execFileSync('mkfifo', [join(src, 'Dockerfile')]);
  const tar = execFileSync('tar', ['-C', src, '-cf', '-', '.']);
  refusedClearly(build(['-'], tar), /error: Dockerfile in the context read from stdin: is a FIFO/);
});

test('a stat cache replaced by a FIFO is ignored (it is only an accelerator) and rewritten', async () => {
  const ctx = await suite.env.context('statcache', { Dockerfile: 'FROM busybox:test\nCOPY a /a\n', a: 'data' });
  const file = StatCache.fileFor(suite.env.root, ctx);
  await mkdir(join(file, '..'), { recursive: true });
  await rm(file, { force: true });
  execFileSync('mkfifo', [file]);
  // An old mtime, so the file is not "racy" and its fingerprint is recorded.
  await utimes(join(ctx, 'a'), 1_000_000, 1_000_000);
  const r = build([ctx]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok((await lstat(file)).isFile(), 'a regular stat cache was written in its place');
});
