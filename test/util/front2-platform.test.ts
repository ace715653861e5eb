import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPlatform, hostPlatform } from '../../src/util/index.js';

test("hostPlatform maps Node's process.arch to OCI names, with arm's variant", () => {
  const cases: [string, string][] = [
    ['x64', 'linux/amd64'],
    ['arm64', 'linux/arm64'],
    ['arm', 'linux/arm/v7'],
    ['ia32', 'linux/386'],
    ['ppc64', 'linux/ppc64le'],
    ['s390x', 'linux/s390x'],
    ['riscv64', 'linux/riscv64'],
    ['mips', 'linux/mips'],
  ];
  for (const [arch, want] of cases) assert.equal(formatPlatform(hostPlatform(arch)), want, arch);
  assert.deepEqual(Object.keys(hostPlatform('x64')).sort(), ['architecture', 'os'], 'no variant key where there is none');
});
