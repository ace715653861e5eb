import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedFlags, wharfBuildEnv, type WharfBuildEnv } from '../helpers/wharf-build.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

// A cache export with ~100 records to a real registry (the bench's `deep` scenario has 101): every
// layer is HEADed first, and distribution logs each 404 at level error. The test process is blocked
// in spawnSync while wharf runs, so a registry whose log went to an undrained pipe hung after ~80
// of them, and the export stopped with "did not answer within 30 s" on one blob.
let dir: string;
let runnerA: WharfBuildEnv;
let registry: TestRegistry;
const STEPS = 100;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-cache-many-'));
  await mkdir(join(dir, 'a'));
  runnerA = wharfBuildEnv(join(dir, 'a'));
  runnerA.importBusybox();
  registry = await startRegistry();
});

after(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function checkout(env: WharfBuildEnv, name: string): Promise<string> {
  const files: Record<string, string> = {};
  const lines = ['FROM busybox:test'];
  for (let i = 0; i < STEPS; i++) {
    files[`f${i}`] = `file ${i}\n`;
    lines.push(`COPY f${i} /f${i}`);
  }
  return env.context(name, { Dockerfile: lines.join('\n') + '\n', ...files });
}

test(`a mode=max export of ${STEPS} records to a real registry completes, and a fresh runner hits every step from it`, { timeout: 240_000 }, async () => {
  const ref = `${registry.host}/ci/many:buildcache`;
  const a = await runnerA.build(await checkout(runnerA, 'ctx-a'), ['--cache-to', `type=registry,ref=${ref},mode=max`]);
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stderr, new RegExp(`cache: exported ${STEPS} records to type=registry,ref=\\S+ \\(${STEPS} layers, \\d+ bytes written\\)`));

  const baseTar = join(dir, 'busybox.tar');
  assert.equal(runnerA.wharf(['save', '-o', baseTar, 'busybox:test']).status, 0);
  await mkdir(join(dir, 'b'));
  const b = wharfBuildEnv(join(dir, 'b'));
  assert.equal(b.wharf(['load', '-i', baseTar]).status, 0);
  const r = await b.build(await checkout(b, 'ctx-b'), ['--cache-from', `type=registry,ref=${ref}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`cache: ${STEPS} records from type=registry`));
  assert.equal(cachedFlags(r.meta!).filter((c) => c).length, STEPS + 1, r.stderr);
  // A second export of the same records finds every layer there: nothing is sent again.
  const again = await runnerA.build(await checkout(runnerA, 'ctx-a2'), ['--cache-to', `type=registry,ref=${ref},mode=max`]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /\(0 layers, 0 bytes written\)/);
});
