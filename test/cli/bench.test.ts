import { test, before, after } from 'node:test';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { wharfBin } from '../helpers/paths.js';
import { renderBenchText } from '../../src/cli/bench-report.js';
import { benchReport, type BenchReport } from '../../src/api/bench-report.js';

// `wharf bench` end to end: real builds (runc containers) on a busybox base imported with `wharf import`.
let dir: string;
let root: string;

const wharf = (args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });

function benchJson(args: string[]): BenchReport {
  const r = wharf(['bench', '--json', '--runs', '2', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as BenchReport;
}

const context = (name: string, files: Record<string, string>) => writeContext(dir, name, files);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-bench-cmd-'));
  root = join(dir, 'store');
  importBusyboxBase(dir, root);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const APP = `FROM busybox:test
WORKDIR /app
COPY a.txt ./
RUN cat a.txt > out
COPY b.txt ./
RUN cat b.txt >> out
`;

test('hit mode: after the warm-up every step hits, and the table says so', async () => {
  const ctx = await context('hit', { Dockerfile: APP, 'a.txt': 'A\n', 'b.txt': 'B\n' });
  const r = wharf(['bench', '--runs', '2', ctx]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warm-up \(not counted\): [\d.]+s, \d\/6 cached/);
  assert.match(r.stdout, /hit mode, 2 runs/);
  assert.match(r.stdout, /^1 +[\d.]+s +6\/0 /m);
  assert.match(r.stdout, /^2 +[\d.]+s +6\/0 /m);
  assert.match(r.stdout, /#4 +\d+ ms +2\/2 +RUN cat a\.txt > out \(line 4\)/);
  assert.match(r.stdout, /every step hit the cache at least once/);
});

test('hit mode passes build options on: a --no-cache-filter stage is named as never hitting', async () => {
  const ctx = await context('filtered', {
    Dockerfile: `FROM busybox:test AS tools
RUN echo tool > /tool
FROM busybox:test
COPY a.txt /
COPY --from=tools /tool /tool
`,
    'a.txt': 'A\n',
  });
  const report = benchJson(['--no-cache-filter', 'tools', ctx]);
  assert.equal(report.mode, 'hit');
  assert.equal(report.runs.length, 2);
  for (const run of report.runs) {
    assert.equal(run.steps, 5);
    assert.equal(run.executed, 1);
    assert.ok(run.wallMs > 0);
  }
  assert.deepEqual(
    report.summary.neverHit?.map((s) => [s.instruction, s.line]),
    [['RUN echo tool > /tool', 2]],
  );
  for (const run of report.runs) assert.deepEqual(run.firstMiss?.miss, { kind: 'no-cache-filter', text: '--no-cache-filter tools' });
});

test('change mode names the first missing step and restores the changed file', async () => {
  const ctx = await context('change', { Dockerfile: APP, 'a.txt': 'A\n', 'b.txt': 'B\n' });
  const before = await stat(join(ctx, 'b.txt'));
  const report = benchJson(['--mode', 'change', '--change', 'b.txt', ctx]);
  assert.equal(report.mode, 'change');
  const first = report.summary.firstMiss;
  assert.ok(first);
  assert.equal(first.instruction, 'COPY b.txt ./');
  assert.equal(first.line, 5);
  assert.equal(first.number, 5);
  assert.equal(first.runs, 2);
  for (const run of report.runs) {
    assert.equal(run.firstMiss?.instruction, 'COPY b.txt ./');
    // Why it missed, for scripts (kind) and people (text), per step and for the first miss.
    assert.equal(run.firstMiss?.miss?.kind, 'files');
    assert.match(run.firstMiss?.miss?.text ?? '', /^files: b\.txt \(content(: size \d+ → \d+)?\)$/);
    assert.deepEqual(run.stepTimes[5]!.miss, { kind: 'parent', text: 'parent changed: #5 COPY b.txt ./ (line 5) missed' });
    assert.deepEqual([run.cached, run.executed], [4, 2]);
    // b.txt is new content in every run: it is read and hashed, never taken from the stat cache.
    assert.ok(run.context.filesHashed >= 1);
    assert.ok(run.context.bytesHashed >= 'B\n# wharf bench run 1\n'.length);
  }
  assert.equal(await readFile(join(ctx, 'b.txt'), 'utf8'), 'B\n');
  // A second benchmark writes content of its own: the first one's cache records must not hit.
  const again = benchJson(['--runs', '1', '--mode', 'change', '--change', 'b.txt', ctx]);
  assert.equal(again.runs[0]!.executed, 2);
  assert.equal(Math.round((await stat(join(ctx, 'b.txt'))).mtimeMs), Math.round(before.mtimeMs));
});

test('cold mode runs every step but FROM in every run and reads the context afresh', async () => {
  const ctx = await context('cold', { Dockerfile: APP, 'a.txt': 'A\n', 'b.txt': 'B\n' });
  // An older context, so the stat cache would answer for both files if cold mode left it.
  const old = new Date(Date.now() - 60_000);
  for (const f of ['a.txt', 'b.txt']) execFileSync('touch', ['-d', old.toISOString(), join(ctx, f)]);
  const report = benchJson(['--mode', 'cold', ctx]);
  for (const run of report.runs) {
    assert.deepEqual([run.cached, run.executed], [1, 5]);
    assert.deepEqual(run.context, { files: 3, filesHashed: 2, bytesHashed: 4, filesFromStatCache: 0 });
    assert.equal(run.firstMiss?.instruction, 'WORKDIR /app');
  }
  assert.equal(report.summary.neverHit, undefined);
  // And a plain build afterwards hits every step again: cold mode left a usable cache behind.
  const hit = benchJson(['--runs', '1', ctx]);
  assert.deepEqual([hit.runs[0]!.executed, hit.runs[0]!.context.filesFromStatCache], [0, 2]);
});

test('bad --mode, --runs and --change are usage errors naming the flag', async () => {
  const ctx = await context('usage', { Dockerfile: APP, 'a.txt': 'A\n', 'b.txt': 'B\n' });
  const cases: [string[], RegExp][] = [
    [['--mode', 'warm'], /--mode warm: use one of cold, hit, change/],
    [['--runs', '0'], /--runs 0:/],
    [['--runs', 'two'], /--runs two:/],
    [['--mode', 'change'], /--mode change needs at least one --change/],
    [['--mode', 'change', '--change', 'missing.txt'], /--change missing\.txt: no such file/],
    [['--mode', 'change', '--change', '../outside'], /--change \.\.\/outside: not a file inside the context/],
    [['--change', 'a.txt'], /--change applies to --mode change only/],
    [['-f', '-'], /--file -: every run reads the Dockerfile again/],
  ];
  for (const [args, message] of cases) {
    const r = wharf(['bench', ...args, ctx]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  }
});

test('the summary takes medians per step and the earliest first miss across runs', () => {
  const step = (index: number, cached: boolean, durationMs: number) => ({ stage: 0, index, instruction: `RUN s${index}`, cacheKey: `k${index}`, cached, durationMs, line: index + 1 });
  const context = { files: 1, filesHashed: 1, bytesHashed: 10, filesFromStatCache: 0 };
  const report = benchReport('change', 'ctx', [
    { wallMs: 300, steps: [step(1, true, 1), step(2, true, 10), step(3, false, 100)], context },
    { wallMs: 100, steps: [step(1, true, 3), step(2, false, 30), step(3, false, 300)], context },
    { wallMs: 200, steps: [step(1, true, 2), step(2, true, 20), step(3, false, 200)], context },
  ]);
  assert.deepEqual(report.summary.wallMs, { median: 200, min: 100, max: 300 });
  assert.deepEqual(
    report.summary.steps.map((s) => [s.number, s.medianMs, s.hits]),
    [
      [1, 2, 3],
      [2, 20, 2],
      [3, 200, 0],
    ],
  );
  assert.deepEqual([report.summary.firstMiss?.instruction, report.summary.firstMiss?.runs, report.summary.firstMiss?.line], ['RUN s2', 1, 3]);
  assert.match(renderBenchText(report), /first miss: #2 RUN s2 \(line 3\), in 1\/3 runs/);
});
