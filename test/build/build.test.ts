import { test, before, after } from 'node:test';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { wharfBin } from '../helpers/paths.js';
import { freePort } from '../helpers/registry.js';
import { openStore } from '../../src/store/index.js';
import { loadImage } from '../../src/image/index.js';

// `wharf build` end to end: real runc containers on a busybox base imported with `wharf import`.
let dir: string;
let root: string;

const wharf = (args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });

interface Meta {
  'containerimage.config.digest': string;
  'wharf.steps': { instruction: string; cached: boolean; cacheKey: string }[];
}

async function build(ctx: string, extra: string[] = []): Promise<{ status: number | null; stderr: string; meta?: Meta }> {
  const metaFile = join(dir, `meta-${Math.random().toString(36).slice(2)}.json`);
  const r = wharf(['build', '--progress', 'plain', '--metadata-file', metaFile, ...extra, ctx]);
  const meta = r.status === 0 ? (JSON.parse(await readFile(metaFile, 'utf8')) as Meta) : undefined;
  return { status: r.status, stderr: r.stderr, ...(meta ? { meta } : {}) };
}
const cachedFlags = (m: Meta) => m['wharf.steps'].map((s) => s.cached);

const context = (name: string, files: Record<string, string>) => writeContext(dir, name, files);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-build-'));
  root = join(dir, 'store');
  importBusyboxBase(dir, root);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const APP = `FROM busybox:test
ARG UNUSED=1
ENV GREETING=hello
WORKDIR /app
COPY conf/ /etc/app/
COPY --chown=app --chmod=640 a.txt ./
RUN echo "$GREETING from $(id -u)" > out && cat a.txt
LABEL org.example=yes
EXPOSE 8080 53/UDP
USER app
CMD ["cat", "/app/out"]
`;

test('a multi-step build gives the files and config docker would, and a rebuild hits every step', async () => {
  const ctx = await context('app', { Dockerfile: APP, 'a.txt': 'A\n', 'conf/x.conf': 'x=1\n' });
  const first = await build(ctx, ['-t', 'app:1']);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /#\d+ \[stage-0 \d\/\d\] RUN/);
  assert.match(first.stderr, /built app:1 in [\d.]+s, 1\/5 cached/);

  const store = await openStore(root);
  const img = await loadImage(store, 'app:1');
  const c = img.config.config!;
  assert.ok(c.Env?.includes('GREETING=hello'));
  assert.deepEqual(c.Cmd, ['cat', '/app/out']);
  assert.equal(c.WorkingDir, '/app');
  assert.equal(c.User, 'app');
  assert.deepEqual(c.Labels, { 'org.example': 'yes' });
  assert.deepEqual(Object.keys(c.ExposedPorts ?? {}), ['53/udp', '8080/tcp']);
  assert.equal(img.config.history?.filter((h) => !h.empty_layer).length, img.config.rootfs.diff_ids.length);

  const run = wharf(['run', '--rm', 'app:1']);
  assert.equal(run.stdout, 'hello from 0\n', run.stderr);
  const ls = wharf(['run', '--rm', 'app:1', 'sh', '-c', 'stat -c "%u:%g %a" /app/a.txt; cat /etc/app/x.conf']);
  assert.equal(ls.stdout, '1234:2345 640\nx=1\n', ls.stderr);

  const again = await build(ctx, ['-t', 'app:1']);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(cachedFlags(again.meta!), [true, true, true, true, true]);
  assert.match(again.stderr, /5\/5 cached/);
});

test('only a content change misses, from that COPY on; touch and an unused build arg still hit', async () => {
  const ctx = await context('keys', { Dockerfile: APP, 'a.txt': 'A\n', 'conf/x.conf': 'x=1\n' });
  const base = await build(ctx);
  assert.equal(base.status, 0, base.stderr);
  await utimes(join(ctx, 'a.txt'), new Date(), new Date(Date.now() + 5000));
  const touched = await build(ctx);
  assert.deepEqual(cachedFlags(touched.meta!), [true, true, true, true, true]);
  const unusedArg = await build(ctx, ['--build-arg', 'NOT_DECLARED=2']);
  assert.deepEqual(cachedFlags(unusedArg.meta!), [true, true, true, true, true]);
  const usedArg = await build(ctx, ['--build-arg', 'UNUSED=2']);
  // A declared ARG is in the RUN's environment, so its value enters the RUN's key (as in BuildKit).
  assert.deepEqual(cachedFlags(usedArg.meta!), [true, true, true, true, false]);
  assert.match(usedArg.stderr, /#5 cache miss: build arg UNUSED: 1 → 2\n/);
  // Neither a file no COPY selects, nor metadata spelled another way, nor EXPOSE order changes a key.
  await writeFile(join(ctx, 'unrelated.txt'), 'u\n');
  await writeFile(join(ctx, 'Dockerfile'), APP.replace('LABEL org.example=yes', 'LABEL org.example yes').replace('EXPOSE 8080 53/UDP', 'EXPOSE 53/UDP 8080'));
  const respelled = await build(ctx);
  assert.deepEqual(cachedFlags(respelled.meta!), [true, true, true, true, true]);
  await writeFile(join(ctx, 'a.txt'), 'B\n');
  const changed = await build(ctx);
  assert.deepEqual(cachedFlags(changed.meta!), [true, true, true, false, false]);
  // Each miss says why, against the previous build of the target (UNUSED=1 again, as it was then).
  assert.match(changed.stderr, /#4 cache miss: files: a\.txt \(content\)\n/);
  assert.match(changed.stderr, /#5 cache miss: parent changed: #4 COPY --chown=app --chmod=640 a\.txt \.\/ \(line 6\) missed\n/);
  const steps = changed.meta!['wharf.steps'];
  assert.equal(steps[2]!.cacheKey, base.meta!['wharf.steps'][2]!.cacheKey);
  assert.notEqual(steps[3]!.cacheKey, base.meta!['wharf.steps'][3]!.cacheKey);
});

test('a different parent misses everything after it', async () => {
  const ctx = await context('parent', { Dockerfile: 'FROM busybox:test\nRUN echo one > /f\nRUN cat /f\n' });
  const a = await build(ctx);
  assert.equal(a.status, 0, a.stderr);
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox:test\nRUN echo two > /f\nRUN cat /f\n');
  const b = await build(ctx);
  assert.deepEqual(cachedFlags(b.meta!), [true, false, false]);
});

test('multi-stage: two independent stages and COPY --from', async () => {
  const ctx = await context('multi', {
    Dockerfile: `FROM busybox:test AS one
RUN mkdir /out && echo first > /out/1
FROM busybox:test AS two
RUN echo second > /2
FROM busybox:test
COPY --from=one /out /got/
COPY --from=two /2 /got/2
COPY --from=busybox:test /etc/group /got/group
CMD ["cat", "/got/1", "/got/2"]
FROM busybox:test AS broken
RUN exit 1
`,
  });
  const r = await build(ctx, ['-t', 'multi:1', '--target', '2']);
  assert.equal(r.status, 1, 'a stage index is not a --target name');
  const ok = await build(ctx, ['-t', 'multi:1', '--target', 'two']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.meta!['wharf.steps'].length, 2, '--target builds only the stages it needs');
  await writeFile(join(ctx, 'Dockerfile'), (await readFile(join(ctx, 'Dockerfile'), 'utf8')).replace('AS broken', 'AS unused'));
  const full = await build(ctx, ['-t', 'multi:1', '--target', 'unused']);
  assert.equal(full.status, 1);
  await writeFile(join(ctx, 'Dockerfile'), (await readFile(join(ctx, 'Dockerfile'), 'utf8')).replace(/FROM busybox:test AS unused\nRUN exit 1\n/, ''));
  const all = await build(ctx, ['-t', 'multi:1']);
  assert.equal(all.status, 0, all.stderr);
  assert.equal(wharf(['run', '--rm', 'multi:1']).stdout, 'first\nsecond\n');
  assert.match(wharf(['run', '--rm', 'multi:1', 'cat', '/got/group']).stdout, /^extra:x:3000:app$/m);
  const again = await build(ctx, ['-t', 'multi:1']);
  assert.ok(cachedFlags(again.meta!).every(Boolean));
  const filtered = await build(ctx, ['-t', 'multi:1', '--no-cache-filter', 'two']);
  assert.deepEqual(filtered.meta!['wharf.steps'].filter((s) => !s.cached).map((s) => s.instruction), ['RUN echo second > /2']);
  assert.match(filtered.stderr, /cache miss: --no-cache-filter/);
});

test('a failing RUN names the step, command and exit code, exits 1 and leaves no mounts or temp dirs', async () => {
  const ctx = await context('fail', { Dockerfile: 'FROM busybox:test\nRUN echo about to fail && exit 3\n' });
  const r = await build(ctx);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /RUN echo about to fail && exit 3/);
  assert.match(r.stderr, /exited with code 3/);
  assert.match(r.stderr, /about to fail/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal((await readFile('/proc/mounts', 'utf8')).split('\n').filter((l) => l.includes(root)).length, 0);
  assert.deepEqual(await readdir(join(root, 'tmp')).catch(() => []), []);
});

test('a Dockerfile syntax error is a diagnostic with file:line:col and a caret', async () => {
  const ctx = await context('syntax', { Dockerfile: 'FROM busybox:test\nCOPY\n' });
  const r = await build(ctx);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Dockerfile:2:\d+/);
  assert.match(r.stderr, /\^/);
});

test('-f - reads the Dockerfile from stdin', async () => {
  const ctx = await context('stdin', { 'x.txt': 'x\n' });
  const r = spawnSync(process.execPath, [wharfBin, '--root', root, 'build', '-f', '-', '-t', 'stdin:1', ctx], { encoding: 'utf8', input: 'FROM busybox:test\nCOPY x.txt /\n' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(wharf(['run', '--rm', 'stdin:1', 'cat', '/x.txt']).stdout, 'x\n');
});

test('usage errors exit 2', async () => {
  assert.equal(wharf(['build']).status, 2);
  assert.equal(wharf(['build', '--progress', 'fancy', dir]).status, 2);
  assert.equal(wharf(['build', '--network', 'overlay', dir]).status, 2);
  const bad = wharf(['build', '--compression', 'lz4', dir]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--compression lz4: use one of none, gzip, zstd/);
});

test('new layers are plain tars unless --compression asks (the blob digest is then the diff_id)', async () => {
  const ctx = await context('compression', { Dockerfile: 'FROM busybox:test\nCOPY a.txt /\nRUN echo made > /made\n', 'a.txt': 'a\n' });
  const store = await openStore(root);
  for (const [flag, mediaType, magic] of [
    [[], 'application/vnd.oci.image.layer.v1.tar', null],
    [['--compression', 'gzip'], 'application/vnd.oci.image.layer.v1.tar+gzip', '1f8b'],
    [['--compression', 'zstd'], 'application/vnd.oci.image.layer.v1.tar+zstd', '28b52ffd'],
  ] as const) {
    const tag = `compression:${flag[1] ?? 'none'}`;
    assert.equal((await build(ctx, ['--no-cache', '-t', tag, ...flag])).status, 0);
    const img = await loadImage(store, tag);
    const built = img.manifest.layers.slice(-2);
    for (const [i, l] of built.entries()) {
      assert.equal(l.mediaType, mediaType);
      const bytes = await readFile(store.path(l.digest));
      if (magic) assert.equal(bytes.subarray(0, 4).toString('hex').slice(0, magic.length), magic);
      else assert.equal(l.digest, img.config.rootfs.diff_ids.at(-2 + i));
      // Every form is a tar GNU tar lists (it detects the compression itself).
      assert.match(execFileSync('tar', ['-tf', store.path(l.digest)], { encoding: 'utf8' }), i === 0 ? /a\.txt/ : /made/);
    }
  }
});

test('an image that is not in the store is pulled, and a registry wharf cannot reach says so', async () => {
  // A loopback port nothing listens on: tests never reach past this host.
  const host = `127.0.0.1:${await freePort()}`;
  const ctx = await context('missing', { Dockerfile: `FROM ${host}/nosuch:1\nRUN true\n` });
  const r = await build(ctx);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`pulling ${host.replace(/\./g, '\\.')}/nosuch:1: cannot connect to ${host.replace(/\./g, '\\.')} .*connection refused`));
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('a failure in one stage cancels a running sibling stage and leaves no mounts behind', async () => {
  const ctx = await context('cancel', {
    Dockerfile: `FROM busybox:test AS slow
RUN sleep 30
FROM busybox:test AS broken
RUN sleep 0.3; exit 7
FROM busybox:test
COPY --from=slow /etc/passwd /a
COPY --from=broken /etc/passwd /b
`,
  });
  const t0 = Date.now();
  const r = await build(ctx);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /exited with code 7/);
  assert.ok(Date.now() - t0 < 20_000, 'the sleeping stage was killed, not waited for');
  assert.equal((await readFile('/proc/mounts', 'utf8')).split('\n').filter((l) => l.includes(root)).length, 0);
  assert.deepEqual(await readdir(join(root, 'tmp')).catch(() => []), []);
});

test('metadata instructions: ENTRYPOINT clears an inherited CMD, SHELL reaches RUN, VOLUME/STOPSIGNAL/HEALTHCHECK', async () => {
  const ctx = await context('meta', {
    Dockerfile: `FROM busybox:test AS parent
CMD ["inherited"]
FROM parent
ENTRYPOINT ["echo"]
SHELL ["/bin/sh", "-xc"]
RUN echo shell-form
VOLUME /data
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=5s CMD true
ONBUILD RUN echo later
`,
  });
  const r = await build(ctx, ['-t', 'meta:1']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /\+ echo shell-form/, 'the RUN used SHELL -xc');
  const c = (await loadImage(await openStore(root), 'meta:1')).config.config!;
  assert.deepEqual(c.Entrypoint, ['echo']);
  assert.equal(c.Cmd, undefined);
  assert.deepEqual(c.Shell, ['/bin/sh', '-xc']);
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.StopSignal, 'SIGQUIT');
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5_000_000_000 });
  assert.deepEqual(c.OnBuild, ['RUN echo later']);
});

test('changing an ignored file does not miss; json progress is one event per line', async () => {
  const ctx = await context('ignored', { Dockerfile: 'FROM busybox:test\nCOPY . /ctx/\nRUN ls /ctx\n', '.dockerignore': 'secret\n', 'kept.txt': 'k\n', secret: 's1\n' });
  const a = await build(ctx);
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stderr, /#3 kept.txt/);
  assert.doesNotMatch(a.stderr, /#3 secret/);
  await writeFile(join(ctx, 'secret'), 's2\n');
  const r = wharf(['build', '--progress', 'json', ctx]);
  assert.equal(r.status, 0, r.stderr);
  type Counters = { files: number; filesHashed: number; filesFromStatCache: number };
  const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { type: string; cached?: number; steps?: number; context?: Counters });
  assert.deepEqual(events.filter((e) => e.type !== 'build-done' && e.type !== 'build-graph').map((e) => e.type), ['step-cached', 'step-cached', 'step-cached']);
  const done = events.at(-1)!;
  assert.equal(done.type, 'build-done');
  assert.equal(done.cached, 3);
  // Dockerfile, .dockerignore and kept.txt (not secret), each hashed or answered by the stat cache.
  assert.equal(done.context?.files, 3);
  assert.equal(done.context.filesHashed + done.context.filesFromStatCache, 3);
});

test('prune keeps the layers the build cache records', async () => {
  const ctx = await context('prune', { Dockerfile: 'FROM busybox:test\nRUN echo kept > /k\n' });
  const a = await build(ctx, ['-t', 'prune:1']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(wharf(['rmi', 'prune:1']).status, 0);
  const p = wharf(['prune']);
  assert.equal(p.status, 0, p.stderr);
  const b = await build(ctx, ['-t', 'prune:1']);
  assert.deepEqual(cachedFlags(b.meta!), [true, true]);
  assert.equal(wharf(['run', '--rm', 'prune:1', 'cat', '/k']).stdout, 'kept\n');
});

test('COPY/ADD semantics: globs, directory contents, dest rules, owners, modes, symlinks, tar extraction', async () => {
  const ctx = await context('copy', {
    Dockerfile: `FROM busybox:test
RUN mkdir -p /kept && chown 7:7 /kept && chmod 700 /kept
WORKDIR /w
COPY *.txt /globbed/
COPY dir /contents
COPY one.txt renamed
COPY --chown=1500 dir/sub/deep.txt /made/by/copy/
COPY --chown=app:extra one.txt /kept/
COPY --chmod=600 dir /modes/
ADD layer.tar /unpacked/
ADD layer.tar.gz /unpacked-gz/
USER app
WORKDIR /home/app/work
RUN echo ok
`,
    'one.txt': '1\n',
    'two.txt': '2\n',
    'dir/a': 'a\n',
    'dir/sub/deep.txt': 'deep\n',
  });
  const { symlink } = await import('node:fs/promises');
  await symlink('a', join(ctx, 'dir', 'link'));
  const src = join(dir, 'tarsrc');
  await mkdir(join(src, 'x'), { recursive: true });
  await writeFile(join(src, 'x', 'f'), 'from tar\n');
  execFileSync('tar', ['--owner=42', '--group=43', '-C', src, '-cf', join(ctx, 'layer.tar'), 'x']);
  execFileSync('sh', ['-c', `gzip -c "${join(ctx, 'layer.tar')}" > "${join(ctx, 'layer.tar.gz')}"`]);
  const r = await build(ctx, ['-t', 'copy:1']);
  assert.equal(r.status, 0, r.stderr);
  const check = wharf(['run', '-u', '0', 'copy:1', 'sh', '-c', [
    'ls /globbed',
    'ls /contents',
    'cat /w/renamed',
    'stat -c "%u:%g" /made /made/by/copy /made/by/copy/deep.txt',
    'stat -c "%u:%g %a" /kept /kept/one.txt',
    'stat -c "%a" /modes /modes/sub /modes/a',
    'readlink /contents/link',
    'stat -c "%u:%g" /unpacked/x/f && cat /unpacked-gz/x/f',
    'stat -c "%u:%g" /home/app/work',
  ].join('; ')]);
  assert.equal(check.status, 0, check.stderr);
  assert.equal(
    check.stdout,
    ['one.txt', 'two.txt', 'a', 'link', 'sub', '1', '1500:1500', '1500:1500', '1500:1500', '7:7 700', '1234:3000 644', '755', '600', '600', 'a', '42:43', 'from tar', '1234:2345', ''].join('\n'),
  );
});

test('more than one source needs a dest ending in /; a missing required secret is refused clearly; --iidfile and --no-cache', async () => {
  const multi = await context('multi-dest', { Dockerfile: 'FROM busybox:test\nCOPY a b /dest\n', a: 'a', b: 'b' });
  const r = await build(multi);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /more than one source the destination must be a directory and end with a \//);
  const mount = await context('mount', { Dockerfile: 'FROM busybox:test\nRUN --mount=type=secret,id=token,required true\n' });
  const m = await build(mount);
  assert.equal(m.status, 1);
  assert.match(m.stderr, /the secret "token" is required/);
  const ok = await context('iid', { Dockerfile: 'FROM busybox:test\nRUN true\n' });
  const iid = join(dir, 'iid.txt');
  const first = await build(ok, ['--iidfile', iid, '-t', 'iid:1']);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(await readFile(iid, 'utf8'), first.meta!['containerimage.config.digest']);
  // `RUN true` changes nothing but still adds an (empty) layer, as docker 20.10 with BuildKit does.
  const store = await openStore(root);
  const [base, built] = [await loadImage(store, 'busybox:test'), await loadImage(store, 'iid:1')].map((i) => i.config);
  assert.equal(built!.rootfs.diff_ids.length, base!.rootfs.diff_ids.length + 1);
  assert.equal(built!.history?.at(-1)?.empty_layer, undefined);
  const forced = await build(ok, ['--no-cache']);
  assert.deepEqual(cachedFlags(forced.meta!), [true, false]);
});

test('--label reaches the image; RUN gets loopback and its own tap0 by default, only loopback with --network none, the host stack with --network host', async () => {
  const hostIfaces = (await readFile('/proc/net/dev', 'utf8')).trim().split('\n').length - 2;
  const ctx = await context('net', { Dockerfile: 'FROM busybox:test\nRUN echo $(( $(wc -l < /proc/net/dev) - 2 )) > /ifaces\n' });
  const byDefault = await build(ctx, ['-t', 'net:default']);
  assert.equal(byDefault.status, 0, byDefault.stderr);
  assert.equal(wharf(['run', '--rm', 'net:default', 'cat', '/ifaces']).stdout, '2\n');
  const none = await build(ctx, ['-t', 'net:none', '--label', 'built.by=wharf', '--network', 'none']);
  assert.equal(none.status, 0, none.stderr);
  assert.deepEqual(cachedFlags(none.meta!), [true, false], 'the network mode is part of the RUN key');
  assert.equal(wharf(['run', '--rm', 'net:none', 'cat', '/ifaces']).stdout, '1\n');
  assert.deepEqual((await loadImage(await openStore(root), 'net:none')).config.config?.Labels, { 'built.by': 'wharf' });
  const host = await build(ctx, ['-t', 'net:host', '--network', 'host']);
  assert.equal(host.status, 0, host.stderr);
  assert.deepEqual(cachedFlags(host.meta!), [true, false], 'the network mode is part of the RUN key');
  assert.equal(wharf(['run', '--rm', 'net:host', 'cat', '/ifaces']).stdout, `${hostIfaces}\n`);
});

test('heredocs: RUN <<EOF runs its body, #! bodies are executed as scripts, COPY <<EOF writes a file', async () => {
  const ctx = await context('heredoc', {
    Dockerfile: `FROM busybox:test
RUN <<EOF
echo one > /one
echo two >> /one
EOF
RUN cat <<-X > /tabs
\tindented
\tX
RUN <<EOF
#!/bin/sh -e
echo "script as $0" > /script
EOF
COPY --chmod=600 <<EOF /etc/inline.conf
key=value
EOF
`,
  });
  const r = await build(ctx, ['-t', 'heredoc:1']);
  assert.equal(r.status, 0, r.stderr);
  const out = wharf(['run', '--rm', 'heredoc:1', 'sh', '-c', 'cat /one /tabs /script /etc/inline.conf; stat -c %a /etc/inline.conf']);
  assert.equal(out.stdout, 'one\ntwo\nindented\nscript as /dev/pipes/EOF\nkey=value\n600\n', out.stderr);
  const store = await openStore(root);
  const img = await loadImage(store, 'heredoc:1');
  const listing = execFileSync('sh', ['-c', img.manifest.layers.slice(-4).map((l) => `tar -tf ${store.path(l.digest)}`).join('; ')], { encoding: 'utf8' });
  assert.doesNotMatch(listing, /dev\//, 'the script mount leaves nothing in a layer');
  const again = await build(ctx);
  assert.ok(cachedFlags(again.meta!).every(Boolean));
});

test('ONBUILD triggers of a base image run first in the child, whose own OnBuild starts empty', async () => {
  const parent = await context('onbuild-parent', { Dockerfile: 'FROM busybox:test\nONBUILD COPY marker /marker\nONBUILD RUN echo "triggered as $(id -u)" > /triggered\n' });
  assert.equal((await build(parent, ['-t', 'onbuild:parent'])).status, 0);
  const child = await context('onbuild-child', { Dockerfile: 'FROM onbuild:parent\nRUN cat /marker /triggered > /both\n', marker: 'from the child context\n' });
  const r = await build(child, ['-t', 'onbuild:child']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /\[onbuild\] COPY marker \/marker/);
  assert.equal(wharf(['run', '--rm', 'onbuild:child', 'cat', '/both']).stdout, 'from the child context\ntriggered as 0\n');
  assert.equal((await loadImage(await openStore(root), 'onbuild:child')).config.config?.OnBuild, undefined);
});

test('RUN --mount: a cache persists across builds, tmpfs and binds leave nothing in the layer, binds enter the key', async () => {
  const ctx = await context('mounts', {
    Dockerfile: `FROM busybox:test AS tools
RUN mkdir /tools && echo tool-v1 > /tools/version
FROM busybox:test
ARG RUN_ID=1
RUN --mount=type=cache,target=/var/cache/app,id=app-cache \\
    --mount=type=tmpfs,target=/scratch \\
    --mount=type=bind,source=src,target=/src \\
    --mount=type=bind,from=tools,source=/tools,target=/tools \\
    echo "run $RUN_ID" >> /var/cache/app/log && touch /scratch/x && \\
    cat /src/input /tools/version > /result && cat /var/cache/app/log > /seen
`,
    'src/input': 'input-v1\n',
    '.dockerignore': 'src/ignored\n',
    'src/ignored': 'secret\n',
  });
  const first = await build(ctx, ['-t', 'mounts:1']);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(wharf(['run', '--rm', 'mounts:1', 'cat', '/result', '/seen']).stdout, 'input-v1\ntool-v1\nrun 1\n');
  // Mount points the step did not have are removed again, as BuildKit does.
  const ls = wharf(['run', '--rm', 'mounts:1', 'sh', '-c', 'for d in /var/cache /scratch /src /tools; do [ -e $d ] && echo "$d stayed"; done; true']);
  assert.equal(ls.stdout, '');
  // A second run with a changed ARG misses, and sees what the first left in the cache mount.
  const second = await build(ctx, ['-t', 'mounts:2', '--build-arg', 'RUN_ID=2']);
  assert.equal(second.status, 0, second.stderr);
  assert.equal(wharf(['run', '--rm', 'mounts:2', 'cat', '/seen']).stdout, 'run 1\nrun 2\n');
  // The bound source's content is part of the key; an ignored file never reaches the mount.
  await writeFile(join(ctx, 'src', 'input'), 'input-v2\n');
  const third = await build(ctx, ['-t', 'mounts:3', '--build-arg', 'RUN_ID=2']);
  assert.equal(cachedFlags(third.meta!).at(-1), false);
  assert.match(third.stderr, /cache miss: mounts changed/);
  const again = await build(ctx, ['-t', 'mounts:3', '--build-arg', 'RUN_ID=2']);
  assert.ok(cachedFlags(again.meta!).every(Boolean));
  const peek = await context('mounts-peek', { Dockerfile: 'FROM busybox:test\nRUN --mount=type=bind,target=/ctx ls -A /ctx > /listing\n', '.dockerignore': 'hidden\n', hidden: 'h', shown: 's' });
  assert.equal((await build(peek, ['-t', 'mounts:peek'])).status, 0);
  assert.equal(wharf(['run', '--rm', 'mounts:peek', 'cat', '/listing']).stdout, '.dockerignore\nDockerfile\nshown\n');
});

test('--output writes the result as a filesystem tree, a tar of it, or an OCI/docker archive', async () => {
  const ctx = await context('output', { Dockerfile: 'FROM busybox:test\nRUN echo out > /made && rm /etc/group\n' });
  const local = join(dir, 'out-local');
  const r1 = await build(ctx, ['-o', `type=local,dest=${local}`]);
  assert.equal(r1.status, 0, r1.stderr);
  assert.equal(await readFile(join(local, 'made'), 'utf8'), 'out\n');
  assert.ok((await readdir(join(local, 'etc'))).includes('passwd'));
  assert.ok(!(await readdir(join(local, 'etc'))).includes('group'), 'whiteouts are applied');
  const tarFile = join(dir, 'out.tar');
  assert.equal((await build(ctx, ['-o', `type=tar,dest=${tarFile}`])).status, 0);
  assert.match(execFileSync('tar', ['-tf', tarFile], { encoding: 'utf8' }), /^\.?\/?made$/m);
  const archive = join(dir, 'out-oci.tar');
  assert.equal((await build(ctx, ['-t', 'output:1', '-o', `type=oci,dest=${archive}`])).status, 0);
  const other = ['--root', join(dir, 'other-store')];
  const loaded = spawnSync(process.execPath, [wharfBin, ...other, 'load', '-i', archive], { encoding: 'utf8' });
  assert.equal(loaded.status, 0, loaded.stderr);
  assert.equal(spawnSync(process.execPath, [wharfBin, ...other, 'run', 'output:1', 'cat', '/made'], { encoding: 'utf8' }).stdout, 'out\n');
  assert.equal(wharf(['build', '-o', 'type=registry', ctx]).status, 2);
});
