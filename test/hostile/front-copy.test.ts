/**
 * COPY and RUN --mount edge cases that used to end in a stack trace or in silence:
 *  - a COPY destination reached through an absolute (or relative) symlink whose target is missing
 *    is made where BuildKit puts it (continuity's RootPath resolves the link in the image, then
 *    MkdirAll makes the missing directories at the target);
 *  - a symlink loop at a RUN mount target (cache, tmpfs, bind, secret) or on a COPY destination is
 *    a clear error naming the path;
 *  - a FIFO or device among the COPY sources is refused by name (BuildKit makes device nodes and
 *    silently drops FIFOs; neither is what a build from a context should do quietly);
 *  - a source symlink pointing outside the context says so, naming the link and its target.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { openStore } from '../../src/store/index.js';
import { loadImage } from '../../src/image/index.js';

const suite = busyboxStoreForFile('wharf-front-copy-');

/** A refusal as the CLI must print it: exit 1, an `error:` line matching `what`, no stack trace. */
function refused(r: { status: number | null; stderr: string }, what: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|^\s+at /m, r.stderr);
  assert.match(r.stderr, what);
}

test('COPY through a symlink whose target is missing lands at the target, as in BuildKit', async () => {
  const ctx = await suite.env.context('dangling-dest', {
    Dockerfile: [
      'FROM busybox:test',
      'RUN ln -s /nonexistent/dir /dst && mkdir -p /opt && ln -s ../missing/sub /opt/rel',
      'COPY f /dst/',
      'COPY g /opt/rel/',
      'COPY h /dst/deeper/',
      // The links stay links; the files are under their targets.
      'RUN test -L /dst && test -L /opt/rel && test "$(cat /nonexistent/dir/f)" = f && test "$(cat /missing/sub/g)" = g && test "$(cat /nonexistent/dir/deeper/h)" = h',
    ].join('\n') + '\n',
    f: 'f\n', g: 'g\n', h: 'h\n',
  });
  const r = await suite.env.build(ctx, ['-t', 'dangling:1']);
  assert.equal(r.status, 0, r.stderr);
  const store = await openStore(suite.env.root);
  const img = await loadImage(store, 'dangling:1');
  const copyLayer = img.manifest.layers[img.manifest.layers.length - 4]!;
  const listing = execFileSync('tar', ['-tf', store.path(copyLayer.digest)], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  assert.deepEqual(listing, ['nonexistent/', 'nonexistent/dir/', 'nonexistent/dir/f']);
});

const LOOP = 'RUN ln -s /loop /loop2 && ln -s /loop2 /loop';

for (const mount of ['type=cache,target=/loop', 'type=tmpfs,target=/loop', 'type=bind,target=/loop', 'type=secret,id=s,target=/loop/s', 'type=cache,target=/loop/deeper']) {
  test(`a symlink loop at a RUN mount target is a clear error (${mount})`, async () => {
    const ctx = await suite.env.context(`loop-${mount.replace(/[^a-z]/g, '')}`, { Dockerfile: `FROM busybox:test\n${LOOP}\nRUN --mount=${mount} true\n`, s: 'secret\n' });
    const r = await suite.env.build(ctx, ['--secret', `id=s,src=${join(ctx, 's')}`]);
    refused(r, /error: RUN mount target \/loop[/a-z]*: too many levels of symbolic links/);
  });
}

test('a symlink loop on a COPY destination is a clear error naming it', async () => {
  const ctx = await suite.env.context('loop-copy', { Dockerfile: `FROM busybox:test\n${LOOP}\nCOPY f /loop/\n`, f: 'f\n' });
  refused(await suite.env.build(ctx), /error: \/loop\/: too many levels of symbolic links/);
});

test('a FIFO or a device among the COPY sources is refused by name', async () => {
  const ctx = await suite.env.context('special', { Dockerfile: 'FROM busybox:test\nCOPY pipe /x/\n', 'tree/ok': 'ok\n' });
  execFileSync('mkfifo', [join(ctx, 'pipe'), join(ctx, 'tree', 'pipe')]);
  execFileSync('mknod', [join(ctx, 'null'), 'c', '1', '3']);
  refused(await suite.env.build(ctx), /error: COPY pipe \/x\/: source pipe is a named pipe \(FIFO\); COPY and ADD copy only regular files/);
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox:test\nCOPY tree /x/\n');
  refused(await suite.env.build(ctx), /source tree\/pipe is a named pipe \(FIFO\)/);
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox:test\nCOPY null /x/\n');
  refused(await suite.env.build(ctx), /source null is a character device/);
  // The hint works: once ignored, the rest of the directory copies.
  await writeFile(join(ctx, '.dockerignore'), 'tree/pipe\n');
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox:test\nCOPY tree /x/\nRUN test "$(cat /x/ok)" = ok && ! test -e /x/pipe\n');
  const r = await suite.env.build(ctx);
  assert.equal(r.status, 0, r.stderr);
});

test('a source symlink that points outside the context says so, naming the link and its target', async () => {
  const ctx = await suite.env.context('outside', { Dockerfile: 'FROM busybox:test\nCOPY lnk /x\n', 'sub/keep': 'k\n' });
  await symlink('/etc/passwd', join(ctx, 'lnk'));
  await symlink('../../../outside', join(ctx, 'sub', 'up'));
  await symlink('missing-here', join(ctx, 'dangling'));
  refused(await suite.env.build(ctx), /Dockerfile:2:6: error: COPY lnk \/x: "lnk" is a symlink to \/etc\/passwd, which points outside the build context[^\n]*\n 2 \| COPY lnk \/x\n   \|      \^\^\^\nhint: copy the target into the context/);
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox:test\nCOPY sub/up /x\n');
  refused(await suite.env.build(ctx), /"sub\/up" is a symlink to \.\.\/\.\.\/\.\.\/outside, which points outside the build context/);
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox:test\nCOPY dangling /x\n');
  refused(await suite.env.build(ctx), /"dangling" is a symlink to missing-here, which is not in the build context/);
  // A plain missing source still says "not found".
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox:test\nCOPY nothing /x\n');
  refused(await suite.env.build(ctx), /"nothing" not found in the build context/);
});
