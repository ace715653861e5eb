// The snapshots' sweep (src/snapshot/store.ts): temp dirs of dead processes go, in the background
// of a process's first file step, and are gone once the store is flushed; a live process's stay.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.js';
import { openSnapshots } from '../../src/snapshot/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'wharf-sweep-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A pid no process has: one that just exited. */
function deadPid(): number {
  return Number(spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());
}

test("a dead process's snapshot temp dirs are swept by the next store's first file step; a live one's are kept", async () => {
  const root = join(tmp, 'root');
  const store = await openStore(root);
  const dead = join(root, 'snapshots', `.tmp-${deadPid()}-0a1b2c3d4e5f`);
  const live = join(root, 'snapshots', `.tmp-${process.pid}-0a1b2c3d4e5f`);
  for (const d of [dead, live]) {
    mkdirSync(join(d, 'fs', 'deep'), { recursive: true });
    writeFileSync(join(d, 'fs', 'deep', 'file'), 'left behind\n');
  }
  const snapshots = openSnapshots(root, store);
  const upper = await snapshots.upperDir();
  assert.ok(existsSync(upper.path.replace(/\/fs$/, '')), 'the step got its temp dir');
  await snapshots.flush();
  assert.equal(existsSync(dead), false, "the dead process's temp dir is gone after the flush");
  assert.equal(existsSync(live), true, "this (live) process's temp dir is kept");
  await upper.discard();
});
