// `bench()` of the library: the builds in this process (no CLI), per-run results, the change
// mode's first miss and restored file, and usage errors as UserErrors before any build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bench, BENCH_USAGE, isUserError, type BenchEvent } from '../../src/api/index.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

const suite = busyboxStoreForFile('wharf-api-bench-');
const APP = 'FROM busybox:test\nCOPY a.txt /a\nRUN cat /a > /out\nCOPY b.txt /b\n';

test('hit mode: every counted run hits every step; one event per build, the warm-up not counted', async () => {
  const ctx = await suite.env.context('hit', { Dockerfile: APP, 'a.txt': 'A\n', 'b.txt': 'B\n' });
  const events: BenchEvent[] = [];
  const r = await bench({ root: suite.env.root, context: ctx, runs: 2 }, { onEvent: (e) => events.push(e) });
  assert.equal(r.mode, 'hit');
  assert.equal(r.context, ctx);
  assert.deepEqual(r.runs.map((x) => [x.run, x.steps, x.cached, x.executed]), [[1, 4, 4, 0], [2, 4, 4, 0]]);
  assert.ok(r.runs.every((x) => x.wallMs >= 0 && x.firstMiss === undefined));
  assert.deepEqual(r.summary.neverHit, []);
  assert.deepEqual(r.summary.steps.map((s) => [s.instruction, s.line, s.hits]), [['FROM busybox:test', 1, 2], ['COPY a.txt /a', 2, 2], ['RUN cat /a > /out', 3, 2], ['COPY b.txt /b', 4, 2]]);
  assert.deepEqual(events.map((e) => [e.label, e.counted]), [['warm-up (not counted)', false], ['run 1/2', true], ['run 2/2', true]]);
});

test('change mode: the changed file\'s COPY is the first miss in every run, and the file is restored', async () => {
  const ctx = await suite.env.context('change', { Dockerfile: APP, 'a.txt': 'A\n', 'b.txt': 'B\n' });
  const r = await bench({ root: suite.env.root, context: ctx, mode: 'change', runs: 2, change: ['a.txt'] });
  for (const run of r.runs) {
    assert.equal(run.firstMiss?.instruction, 'COPY a.txt /a');
    assert.equal(run.firstMiss?.miss?.kind, 'files');
    assert.deepEqual([run.cached, run.executed], [1, 3]);
  }
  assert.deepEqual([r.summary.firstMiss?.number, r.summary.firstMiss?.runs], [2, 2]);
  assert.equal(await readFile(join(ctx, 'a.txt'), 'utf8'), 'A\n');
});

test('options that make no sense are UserErrors (BENCH_USAGE) naming the option, before any build', async () => {
  const ctx = await suite.env.context('usage', { Dockerfile: APP, 'a.txt': 'A\n', 'b.txt': 'B\n' });
  const cases: [Parameters<typeof bench>[0], RegExp][] = [
    [{ root: suite.env.root, context: ctx, runs: 0 }, /--runs 0:/],
    [{ root: suite.env.root, context: ctx, mode: 'change' }, /--mode change needs at least one --change/],
    [{ root: suite.env.root, context: ctx, mode: 'change', change: ['../x'] }, /--change \.\.\/x: not a file inside the context/],
    [{ root: suite.env.root, context: ctx, change: ['a.txt'] }, /--change applies to --mode change only/],
  ];
  for (const [o, message] of cases) {
    const events: BenchEvent[] = [];
    await assert.rejects(bench(o, { onEvent: (e) => events.push(e) }), (e: unknown) => isUserError(e) && e.code === BENCH_USAGE && message.test(e.message));
    assert.deepEqual(events, []);
  }
});
