import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { writeTinyImage } from '../helpers/tiny-image.js';
import { openStore } from '../../src/store/index.js';
import { parseImageName } from '../../src/image/index.js';
import { formatPlatform, hostPlatform } from '../../src/util/index.js';

// Build semantics where wharf follows `docker buildx build`: COPY --from keeps the source stage's
// owners and modes, `--chown=:GROUP` means root with that group, mounts without a target land in
// the WORKDIR.
const suite = busyboxStoreForFile('wharf-semantics-');

test('COPY --from keeps uid, gid and mode of files and directories; --chown/--chmod override; context files stay root-owned', async () => {
  const ctx = await suite.env.context('owners', {
    Dockerfile: `FROM busybox:test AS build
RUN mkdir -p /out/sub && echo a > /out/sub/f && echo b > /out/g && ln -s g /out/l \\
 && chown -R 1300:1301 /out && chown 1302:1303 /out/g && chown -h 1304:1305 /out/l \\
 && chmod 0750 /out/sub && chmod 0640 /out/sub/f && chmod 0604 /out/g
FROM busybox:test
COPY --from=build /out /kept
COPY --from=build /out/g /single
COPY --from=build --chown=7:8 /out /chowned
COPY --from=build --chmod=0700 /out/g /chmodded
COPY --chown=:app ctx.txt /group-only
COPY --chown=:3000 ctx.txt /group-num
COPY ctx.txt /ctx
`,
    'ctx.txt': 'ctx\n',
  });
  await chmod(join(ctx, 'ctx.txt'), 0o640);
  const r = await suite.env.build(ctx, ['-t', 'owners:1']);
  assert.equal(r.status, 0, r.stderr);
  const out = suite.env.wharf(['run', '-u', '0', 'owners:1', 'sh', '-c',
    'cd / && stat -c "%n %u:%g %a" kept kept/sub kept/sub/f kept/g kept/l single chowned chowned/sub/f chowned/g chmodded group-only group-num ctx']);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout, [
    'kept 1300:1301 755', 'kept/sub 1300:1301 750', 'kept/sub/f 1300:1301 640', 'kept/g 1302:1303 604', 'kept/l 1304:1305 777',
    'single 1302:1303 604',
    'chowned 7:8 755', 'chowned/sub/f 7:8 640', 'chowned/g 7:8 604',
    'chmodded 1302:1303 700',
    'group-only 0:2345 640', 'group-num 0:3000 640',
    'ctx 0:0 640', '',
  ].join('\n'));
});

test('mounts without a target (or with a relative one) land in the WORKDIR; a result of / is refused', async () => {
  const ctx = await suite.env.context('mount-targets', {
    Dockerfile: `FROM busybox:test AS base
RUN mkdir /data && echo from-stage > /data/s
FROM busybox:test
WORKDIR /w
RUN --mount=type=bind,src=dir cat /w/f > /bound
RUN --mount=from=base,source=/data cat /w/s > /from-stage
RUN --mount=from=base,source=/data,target=rel cat /w/rel/s > /relative
RUN --mount=type=cache,target=c touch /w/c/x && ls /w/c > /cached
RUN --mount=type=tmpfs,target=t touch /w/t/y && ls /w/t > /tmpfs
RUN ls -A /w > /left
`,
    'dir/f': 'from-context\n',
  });
  const r = await suite.env.build(ctx, ['-t', 'mounts:1']);
  assert.equal(r.status, 0, r.stderr);
  const out = suite.env.wharf(['run', '--rm', 'mounts:1', 'cat', '/bound', '/from-stage', '/relative', '/cached', '/tmpfs', '/left']);
  assert.equal(out.status, 0, out.stderr);
  // The mount points the runtime made (/w/rel, /w/c, /w/t) do not stay in the image.
  assert.equal(out.stdout, 'from-context\nfrom-stage\nfrom-stage\nx\ny\n');

  // WORKDIR / known from the Dockerfile: refused when planning, at the mount.
  const planned = await suite.env.context('mount-root-plan', { Dockerfile: 'FROM busybox:test\nWORKDIR /\nRUN --mount=type=cache true\n' });
  const p = await suite.env.build(planned);
  assert.equal(p.status, 1);
  assert.match(p.stderr, /Dockerfile:3:13: error: invalid mount target "\/" \(no target, and the WORKDIR is \/\)/);
  assert.match(p.stderr, /RUN --mount=type=cache true\n\s*\|\s*\^+/);
  // The WORKDIR comes from the base image (/ here): refused when the step runs, naming the step.
  const run = await suite.env.context('mount-root-run', { Dockerfile: 'FROM busybox:test\nRUN --mount=type=bind,src=x true\n', x: 'x\n' });
  const q = await suite.env.build(run);
  assert.notEqual(q.status, 0);
  assert.match(q.stderr, /invalid mount target "\/" \(the mount has no target and the WORKDIR is \/\)/);
  assert.doesNotMatch(q.stderr, /\n\s+at /);
});

test('FROM --platform picks that platform from an index: $BUILDPLATFORM the build host, a named one its own', async () => {
  const store = await openStore(suite.env.root);
  const host = await writeTinyImage(store, 'plat-host:1', { label: 'host' });
  const other = await writeTinyImage(store, 'plat-other:1', { label: 'other' });
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { ...other.manifestDescriptor, platform: { os: 'linux', architecture: 's390x' } },
      { ...host.manifestDescriptor, platform: { os: 'linux', architecture: hostPlatform().architecture } },
    ],
  };
  const blob = await store.putBytes(JSON.stringify(index));
  await store.setTag(parseImageName('multi:1'), { mediaType: index.mediaType, ...blob });
  const label = async (from: string) => {
    const ctx = await suite.env.context(`plat-${Math.random().toString(36).slice(2)}`, { Dockerfile: `${from}\nLABEL x=1\n` });
    const r = await suite.env.build(ctx, ['-t', 'plat:1']);
    assert.equal(r.status, 0, r.stderr);
    const out = suite.env.wharf(['inspect', '--format', '{{json .Config.Labels}}', 'plat:1']);
    const cfg = out.status === 0 ? out.stdout : suite.env.wharf(['inspect', 'plat:1']).stdout;
    return /"test": ?"(\w+)"/.exec(cfg)?.[1];
  };
  assert.equal(await label('FROM --platform=linux/s390x multi:1'), 'other');
  assert.equal(await label('FROM --platform=$BUILDPLATFORM multi:1'), 'host');
  assert.equal(await label(`FROM --platform=${formatPlatform(hostPlatform())} multi:1`), 'host');
  assert.equal(await label('FROM multi:1'), 'host');
});

test('wharf build refuses a FROM that expands to nothing or to an invalid reference, at the FROM, before pulling anything', async () => {
  const blank = await suite.env.context('blank-from', { Dockerfile: 'ARG BASE\nFROM ${BASE}\nRUN true\n' });
  const r = await suite.env.build(blank);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Dockerfile:2:6: error: base name \(\$\{BASE\}\) should not be blank\n 2 \| FROM \$\{BASE\}\n {3}\| {6}\^{7}\nhint: pass --build-arg BASE=<image>/);
  const ok = await suite.env.build(blank, ['--build-arg', 'BASE=busybox:test']);
  assert.equal(ok.status, 0, ok.stderr);
  const bad = await suite.env.context('bad-from', { Dockerfile: 'FROM busybox:\n' });
  const b = await suite.env.build(bad);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /Dockerfile:1:6: error: invalid base image reference "busybox:": invalid tag ""/);
  assert.doesNotMatch(b.stderr, /pull|docker\.io|connect/i);
});
