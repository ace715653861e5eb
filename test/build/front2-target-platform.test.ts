/**
 * TARGETPLATFORM and friends in a build are this host's (they were linux/amd64 on every host), and
 * the image config names the same platform.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';
import { openStore } from '../../src/store/index.js';
import { loadImage } from '../../src/image/index.js';
import { formatPlatform } from '../../src/util/index.js';

const suite = busyboxStoreForFile('wharf-front2-platform-');

/** process.arch in OCI words, written out here so the test does not trust the code under test. */
const OCI_ARCH: Record<string, [string, string]> = { x64: ['amd64', ''], arm64: ['arm64', ''], arm: ['arm', 'v7'], ia32: ['386', ''], ppc64: ['ppc64le', ''], s390x: ['s390x', ''] };

test('RUN sees TARGETARCH, TARGETPLATFORM, BUILDARCH… of this host, and the image config says the same architecture', async () => {
  const [arch, variant] = OCI_ARCH[process.arch] ?? assert.fail(`no expectation for process.arch ${process.arch}`);
  const ctx = await suite.env.context('platform', {
    Dockerfile: [
      'FROM busybox:test',
      'ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDOS BUILDARCH',
      'RUN echo "$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT|$BUILDPLATFORM|$BUILDOS|$BUILDARCH" > /platform',
      '',
    ].join('\n'),
  });
  const out = join(suite.dir, 'out');
  const r = await suite.env.build(ctx, ['-t', 'platform:1', '-o', `type=local,dest=${out}`]);
  assert.equal(r.status, 0, r.stderr);
  const platform = `linux/${arch}${variant ? `/${variant}` : ''}`;
  assert.equal((await readFile(join(out, 'platform'), 'utf8')).trim(), [platform, 'linux', arch, variant, platform, 'linux', arch].join('|'));
  const img = await loadImage(await openStore(suite.env.root), 'platform:1');
  assert.equal(img.config.architecture, arch);
  assert.equal(img.config.os, 'linux');
  assert.equal(formatPlatform(img.config), platform);
});

/**
 * The same on other hosts, with Node's process.arch replaced before wharf starts. No RUN: the
 * runtime's seccomp filter would follow the pretended architecture too; WORKDIR runs no container.
 */
for (const [nodeArch, platform] of [['arm', 'linux/arm/v7'], ['arm64', 'linux/arm64'], ['s390x', 'linux/s390x']] as const) {
  test(`on a host whose process.arch is ${nodeArch}, TARGETPLATFORM is ${platform} and so is the image`, async () => {
    const ctx = await suite.env.context(`as-${nodeArch}`, {
      Dockerfile: 'FROM scratch\nARG TARGETPLATFORM TARGETARCH TARGETVARIANT BUILDPLATFORM\nWORKDIR /t/$TARGETPLATFORM/$TARGETARCH-$TARGETVARIANT/$BUILDPLATFORM\n',
    });
    const out = join(suite.dir, `out-${nodeArch}`);
    const pretend = `data:text/javascript,Object.defineProperty(process,"arch",{value:"${nodeArch}"})`;
    const r = spawnSync(process.execPath, ['--import', pretend, wharfBin, '--root', suite.env.root, 'build', '--progress', 'plain', '-t', `as-${nodeArch}:1`, '-o', `type=local,dest=${out}`, ctx], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [os, arch, variant = ''] = platform.split('/');
    const made = join(out, 't', platform, `${arch}-${variant}`, platform);
    assert.ok(existsSync(made), `${made} missing; the build made: ${spawnSync('find', [out], { encoding: 'utf8' }).stdout}`);
    const img = await loadImage(await openStore(suite.env.root), `as-${nodeArch}:1`);
    assert.deepEqual([img.config.os, img.config.architecture, img.config.variant ?? ''], [os, arch, variant]);
  });
}
