// The library's run() closes what it started: its executor's launch server is a process, and a
// long-lived `wharf serve` would otherwise keep one per run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/api/index.js';
import { setNativeLauncher } from '../../src/util/index.js';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';
import { projectRoot, wharfBin } from '../helpers/paths.js';

const servers = (): number[] => {
  const r = spawnSync('pgrep', ['-P', String(process.pid), '-f', 'wharf-container --serve'], { encoding: 'utf8' });
  return r.stdout.trim().split('\n').filter(Boolean).map(Number);
};

test('run() on the own launcher leaves no launch server behind', async () => {
  requireRoot();
  setNativeLauncher(join(projectRoot, 'dist', 'native', 'wharf-launch'));
  const dir = mkdtempSync(join(tmpdir(), 'wharf-api-run-'));
  try {
    makeBusyboxRootfs(join(dir, 'rootfs'));
    execFileSync('tar', ['-C', join(dir, 'rootfs'), '-cf', join(dir, 'base.tar'), '.']);
    const root = join(dir, 'store');
    const imported = spawnSync(process.execPath, [wharfBin, '--root', root, 'import', join(dir, 'base.tar'), 'base:1'], { encoding: 'utf8' });
    assert.equal(imported.status, 0, imported.stderr);
    const before = servers();
    const out: string[] = [];
    const r = await run({ root, image: 'base:1', cmd: ['sh', '-c', 'echo ran'], network: 'none', runtime: 'wharf' }, { onStdout: (l) => out.push(l) });
    assert.equal(r.exitCode, 0);
    assert.deepEqual(out, ['ran']);
    let left = servers().filter((p) => !before.includes(p));
    for (let i = 0; i < 100 && left.length; i++) {
      await new Promise((res) => setTimeout(res, 20));
      left = servers().filter((p) => !before.includes(p));
    }
    assert.deepEqual(left, [], 'the launch server ended with the run');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
