/** `wharf plan` gives TARGETARCH this host's architecture unless --platform names another. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharfBin } from '../helpers/paths.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-front2-plan-'));
  writeFileSync(join(dir, 'Dockerfile'), 'FROM a\nARG TARGETPLATFORM BUILDARCH\nWORKDIR /t/$TARGETPLATFORM/b/$BUILDARCH\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const wharf = (...args: string[]) => spawnSync(process.execPath, [wharfBin, 'plan', ...args], { cwd: dir, encoding: 'utf8' });
/** `wharf plan` on a host whose Node reports `arch` (process.arch replaced before wharf starts). */
const wharfOn = (arch: string) =>
  spawnSync(process.execPath, ['--import', `data:text/javascript,Object.defineProperty(process,"arch",{value:"${arch}"})`, wharfBin, 'plan'], { cwd: dir, encoding: 'utf8' });
const OCI_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm/v7', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

test('without --platform the target and build platforms are the host', () => {
  const host = OCI_ARCH[process.arch] ?? assert.fail(`no expectation for process.arch ${process.arch}`);
  const r = wharf();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`WORKDIR /t/linux/${host}/b/${host.split('/')[0]} `));
});

test('--platform sets the target platform only; a bad one is a usage error', () => {
  const host = (OCI_ARCH[process.arch] ?? '').split('/')[0]!;
  const r = wharf('--platform', 'linux/riscv64');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`WORKDIR /t/linux/riscv64/b/${host} `));
  const bad = wharf('--platform', 'riscv64');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /invalid --platform "riscv64"/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});

test('on an arm64 or 32-bit arm host the default platform is that host', () => {
  for (const [arch, platform, buildArch] of [['arm64', 'linux/arm64', 'arm64'], ['arm', 'linux/arm/v7', 'arm']]) {
    const r = wharfOn(arch!);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`WORKDIR /t/${platform}/b/${buildArch} `));
  }
});
