import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runnablePlatform } from '../../src/api/platform.js';
import { isUserError } from '../../src/util/index.js';

const amd64 = { os: 'linux', architecture: 'amd64' };

test('build --platform: the host, its 32-bit mode, or an architecture with an enabled binfmt_misc handler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-binfmt-'));
  try {
    assert.deepEqual(runnablePlatform('linux/amd64', amd64, dir), { os: 'linux', architecture: 'amd64', variant: undefined });
    assert.equal(runnablePlatform('linux/386', amd64, dir).architecture, '386');
    const refused = (text: string) =>
      assert.throws(() => runnablePlatform(text, amd64, dir), (e: unknown) => isUserError(e) && e.code === 'cli.platform-unrunnable' && /binfmt_misc/.test(e.hint ?? ''));
    refused('linux/arm64');
    writeFileSync(join(dir, 'qemu-aarch64'), 'disabled\ninterpreter /usr/bin/qemu-aarch64-static\n');
    refused('linux/arm64');
    writeFileSync(join(dir, 'qemu-aarch64'), 'enabled\ninterpreter /usr/bin/qemu-aarch64-static\n');
    assert.deepEqual(runnablePlatform('linux/arm64/v8', amd64, dir), { os: 'linux', architecture: 'arm64', variant: 'v8' });
    refused('linux/s390x');
    assert.throws(() => runnablePlatform('windows/amd64', amd64, dir), /wharf builds linux images only/);
    assert.throws(() => runnablePlatform('amd64', amd64, dir), /invalid --platform "amd64"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
