import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changeFile, fileBytes, restoreFile, scenarioSpec, writeScenario } from '../../bench/peers/scenarios.js';
import { median, ratio, summarize } from '../../bench/peers/stats.js';
import { renderMarkdown, summarizeCells, type PeerResults } from '../../bench/peers/report.js';

const opts = { base: 'bench/base:1', scale: 1, seed: 42 };

test('scenarios are the same for the same seed and differ for another', () => {
  for (const name of ['app', 'wide', 'bigctx', 'deep'] as const) {
    const a = scenarioSpec(name, opts);
    assert.deepEqual(scenarioSpec(name, opts), a);
    const b = scenarioSpec(name, { ...opts, seed: 43 });
    assert.notDeepEqual(b, a, name);
  }
  const f = scenarioSpec('app', opts).files[0]!;
  assert.ok(fileBytes(f).equals(fileBytes(f)));
  const bin = { path: 'x', size: 1001, seed: 7, text: false };
  assert.equal(fileBytes(bin).length, 1001);
  assert.ok(fileBytes(bin).equals(fileBytes(bin)));
  assert.ok(!fileBytes(bin).equals(fileBytes({ ...bin, seed: 8 })));
});

test('scenario shapes follow the benchmark definition', () => {
  const app = scenarioSpec('app', opts);
  const steps = app.dockerfile.split('\n').filter((l) => l.trim());
  assert.equal(steps.length, 9);
  assert.deepEqual(steps.map((l) => l.split(' ')[0]), ['FROM', 'ENV', 'WORKDIR', 'COPY', 'COPY', 'RUN', 'RUN', 'RUN', 'CMD']);
  assert.ok(app.files.some((f) => f.path === app.changeFile));

  const wide = scenarioSpec('wide', opts).dockerfile;
  assert.equal(wide.match(/^FROM /gm)?.length, 5);
  assert.equal(wide.match(/^RUN /gm)?.length, 8);
  assert.equal(wide.match(/^COPY --from=/gm)?.length, 4);

  const deep = scenarioSpec('deep', opts);
  assert.equal(deep.dockerfile.match(/^RUN /gm)?.length, 100);
  assert.equal(deep.changeFile, null);

  const big = scenarioSpec('bigctx', opts);
  assert.equal(big.files.length, 50_000);
  assert.equal(big.files.reduce((a, f) => a + f.size, 0), 500 * 1024 * 1024);
  assert.equal(new Set(big.files.map((f) => f.path)).size, 50_000);
  const small = scenarioSpec('bigctx', { ...opts, scale: 0.01 });
  assert.equal(small.files.length, 500);
  assert.equal(small.files.reduce((a, f) => a + f.size, 0), Math.round(500 * 1024 * 1024 * 0.01));
});

test('a written scenario changes and restores its change file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-bench-test-'));
  try {
    const spec = scenarioSpec('app', opts);
    const dirs = writeScenario(spec, join(dir, 'app'));
    assert.equal(readFileSync(dirs.dockerfile, 'utf8'), spec.dockerfile);
    const path = join(dirs.context, spec.changeFile!);
    const original = readFileSync(path);
    changeFile(spec, dirs, 1);
    const one = readFileSync(path);
    changeFile(spec, dirs, 2);
    assert.ok(!one.equals(original));
    assert.ok(!readFileSync(path).equals(one));
    restoreFile(spec, dirs);
    assert.ok(readFileSync(path).equals(original));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('median, min, max and ratios', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]));
  assert.deepEqual(summarize([30, 10, 20]), { runs: [30, 10, 20], median: 20, min: 10, max: 30 });
  const r = ratio([10, 20, 30], [20, 20, 60]);
  assert.equal(r.ofMedians, 20 / 20);
  assert.equal(r.paired, 0.5);
});

test('markdown table: medians with ranges, ratios wharf/peer, reasons for missing cells', () => {
  const results: PeerResults = {
    date: '2026-01-01T00:00:00Z',
    machine: {},
    config: {},
    builders: ['buildkit', 'buildah', 'wharf'],
    cells: [
      { scenario: 'app', mode: 'noop', builder: 'buildkit', runs: [1000, 2000, 1500] },
      { scenario: 'app', mode: 'noop', builder: 'buildah', runs: [], error: 'not installed' },
      { scenario: 'app', mode: 'noop', builder: 'wharf', runs: [500, 600, 700] },
    ],
  };
  const md = renderMarkdown(results);
  const lines = md.trim().split('\n');
  assert.equal(lines[0], '| scenario | mode | buildkit s | buildah s | wharf s | wharf/buildkit | wharf/buildah |');
  assert.equal(lines[2], '| app | noop | 1.50 (1.00–2.00) | n/a (not installed) | 0.60 (0.50–0.70) | 0.40× | – |');
  const w = summarizeCells(results).find((c) => c.builder === 'wharf')!;
  assert.equal(w.ratios['buildkit']!.paired, 700 / 1500); // pairs 0.5, 0.3, 0.47

  // wharf-serve is ours too: compared with each peer, not with wharf.
  const served = renderMarkdown({
    ...results,
    builders: ['buildkit', 'wharf', 'wharf-serve'],
    cells: [results.cells[0]!, results.cells[2]!, { scenario: 'app', mode: 'noop', builder: 'wharf-serve', runs: [300, 300, 300] }],
  }).trim().split('\n');
  assert.equal(served[0], '| scenario | mode | buildkit s | wharf s | wharf-serve s | wharf/buildkit | wharf-serve/buildkit |');
  assert.equal(served[2], '| app | noop | 1.50 (1.00–2.00) | 0.60 (0.50–0.70) | 0.30 (0.30–0.30) | 0.40× | 0.20× |');
});

test('the wide floor: RUNs grouped by stage, run bare in a chroot of busybox, CPU summed', async () => {
  const { measureFloor, stageRuns } = await import('../../bench/peers/floor.js');
  const { makeBusyboxRootfs } = await import('../helpers/busybox.js');
  const wide = scenarioSpec('wide', opts).dockerfile;
  const stages = stageRuns(wide);
  assert.equal(stages.length, 4);
  assert.ok(stages.every((s) => s.length === 2 && s[0]!.startsWith('mkdir /out')));

  const dir = await mkdtemp(join(tmpdir(), 'wharf-floor-'));
  try {
    makeBusyboxRootfs(join(dir, 'rootfs'));
    // ~0.2 s of sha256 over zeros per stage; a command that cannot run fails the measurement.
    const f = await measureFloor('FROM x\nRUN dd if=/dev/zero bs=1M count=64 2>/dev/null | sha256sum > /dev/null\nFROM y\nRUN seq 1 50000 | sha256sum > /dev/null\n', join(dir, 'rootfs'), dir);
    assert.ok(f.cpuS > 0.01, `CPU time was measured: ${f.cpuS}`);
    assert.equal(f.floorS, Math.max(f.cpuS / f.cores, f.longestStageS));
    await assert.rejects(measureFloor('FROM x\nRUN exit 3\n', join(dir, 'rootfs'), dir), /bare run of `exit 3` failed/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
