// prune and rmi never read writers' temp files, and skip an unreadable record with a warning.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharfBuildEnv } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

let dir: string;
let env: ReturnType<typeof wharfBuildEnv>;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-store-prune-'));
  env = wharfBuildEnv(dir);
  env.importBusybox();
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A pid no process has: one that just exited. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

const HEX = 'ab'.repeat(32);

function wharfAsync(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [wharfBin, '--root', env.root, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => child.on('close', (code) => res({ code, stderr })));
}

test('a partial temp file and corrupt records: prune and rmi warn, skip them and succeed', async () => {
  const ctx = await env.context('ctx', { 'a.txt': 'a\n', Dockerfile: 'FROM busybox:test\nCOPY a.txt /a.txt\n' });
  assert.equal((await env.build(ctx, ['-t', 'p:1'])).status, 0);
  assert.equal((await env.build(ctx, ['-t', 'p:2'])).status, 0);
  const lineages = join(env.root, 'cache', 'copy-lineage');
  mkdirSync(lineages, { recursive: true });
  const deadTemp = join(lineages, `.${HEX}.json.tmp-${deadPid()}-0a1b2c3d4e5f`);
  const liveTemp = join(lineages, `.${'cd'.repeat(32)}.json.tmp-${process.pid}-0a1b2c3d4e5f`);
  writeFileSync(deadTemp, '{"v":2,"layer":{"dig');
  writeFileSync(liveTemp, '{"v":2,"lay');
  const corruptLineage = join(lineages, `${'ef'.repeat(32)}.json`);
  writeFileSync(corruptLineage, '{"v":2,"layer":');
  const corruptRecord = join(env.root, 'cache', `${'12'.repeat(32)}.json`);
  writeFileSync(corruptRecord, '\0\0garbage');

  const prune = env.wharf(['prune']);
  assert.equal(prune.status, 0, prune.stderr);
  assert.doesNotMatch(prune.stderr, /internal error|at .*\.js/);
  assert.match(prune.stderr, new RegExp(`warning: skipped the unreadable copy lineage ${corruptLineage}`));
  assert.match(prune.stderr, new RegExp(`warning: skipped the unreadable build cache record ${corruptRecord}`));
  assert.ok(!existsSync(deadTemp), "a dead writer's temp file is removed");
  assert.ok(existsSync(liveTemp), "a live writer's temp file is left alone");
  assert.ok(existsSync(corruptLineage), 'the unreadable lineage is skipped, not parsed');

  const rmi = env.wharf(['rmi', 'p:2']);
  assert.equal(rmi.status, 0, rmi.stderr);
  assert.match(rmi.stderr, /warning: skipped the unreadable copy lineage/);
  assert.doesNotMatch(rmi.stderr, /internal error/);
  rmSync(liveTemp);
});

test('40 prunes while builds write copy lineages and cache records: none fails, fsck is clean', async () => {
  const ctx = await env.context('busy', { Dockerfile: 'FROM busybox:test\nCOPY . /ctx\nRUN ls /ctx > /list\n' });
  for (let i = 0; i < 200; i++) await writeFile(join(ctx, `f${i}`), `${i}\n`.repeat(50));
  const builds = (async () => {
    const codes: (number | null)[] = [];
    for (let i = 0; i < 6; i++) {
      await writeFile(join(ctx, `f${i}`), `changed ${i}\n`);
      const r = await wharfAsync(['build', '--progress', 'plain', '-t', 'busy:1', ctx]);
      assert.equal(r.code, 0, r.stderr);
      codes.push(r.code);
    }
    return codes;
  })();
  // A failed build is reported by `await builds` below, once the prunes are done: as an unhandled
  // rejection it ended the test at once, and `after` removed the store under running prunes,
  // which wrote it again (a temp dir left behind).
  builds.catch(() => undefined);
  const prunes: { code: number | null; stderr: string }[] = [];
  for (let round = 0; round < 10; round++) prunes.push(...(await Promise.all([0, 1, 2, 3].map(() => wharfAsync(['prune'])))));
  await builds;
  assert.ok(readdirSync(join(env.root, 'cache', 'copy-lineage')).length > 0, 'the builds wrote copy lineages');
  assert.equal(prunes.length, 40);
  for (const p of prunes) {
    assert.equal(p.code, 0, p.stderr);
    assert.doesNotMatch(p.stderr, /internal error/);
  }
  const fsck = env.wharf(['fsck']);
  assert.equal(fsck.status, 0, fsck.stdout);
  const run = env.wharf(['run', '--rm', 'busy:1', 'cat', '/ctx/f5']);
  assert.equal(run.stdout, 'changed 5\n');
});
