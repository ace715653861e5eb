import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRenderer, type BuildEvent, type StepRef } from '../../src/progress/index.js';
import { fitLine } from '../../src/progress/tty.js';
import { wharfBin } from '../helpers/paths.js';

// On a tty the timer and final duration of a step are never cut: the instruction text is.
const LONG = 'RUN ' + 'apt-get install -y --no-install-recommends build-essential ca-certificates curl git '.repeat(3).trim();
const step = (n: number, instruction = LONG): StepRef => ({ id: `s0v${n}`, number: n, stage: 0, stageLabel: 'build', position: n, total: 3, instruction });

function render(events: BuildEvent[], columns: number, color = false): string[] {
  let text = '';
  const r = createRenderer('tty', { write: (s: string) => (text += s), columns }, { color });
  for (const e of events) r.sink(e);
  r.close();
  return text
    .replace(/\x1b\[\d*[ABJK]/g, '')
    .split('\n')
    .filter(Boolean);
}

const visible = (s: string) => s.replace(/\x1b\[[\d;]*m/g, '');

for (const columns of [80, 160]) {
  test(`at ${columns} columns a long RUN keeps its duration; the instruction is cut with …`, () => {
    const lines = render(
      [
        { type: 'step-started', step: step(2), at: 0 },
        { type: 'step-done', step: step(2), key: 'k', durationMs: 12_345, at: 1 },
        { type: 'step-started', step: step(3), at: 2 },
        { type: 'step-error', step: step(3), message: 'x', durationMs: 2_500, at: 3 },
      ],
      columns,
    );
    const done = lines.findLast((l) => l.startsWith('=> [build 2/3]'))!;
    assert.ok(done.endsWith('…  12.3s'), done);
    assert.ok(done.length <= columns - 1, `${done.length} columns`);
    const err = lines.find((l) => l.startsWith('=> ERROR [build 3/3]'))!;
    assert.ok(err.endsWith('…  2.5s'), err);
    assert.ok(err.length <= columns - 1);
  });
}

test('a running step keeps its live timer at 80 columns', () => {
  let text = '';
  let t = 0;
  const r = createRenderer('tty', { write: (s: string) => (text += s), columns: 80 });
  r.sink({ type: 'step-started', step: step(2), at: 0 });
  t = 1;
  r.sink({ type: 'step-log', step: step(2), stream: 'stdout', line: 'x', at: t });
  r.close();
  const live = text.split('\n').find((l) => l.includes('=> [build 2/3]'))!;
  assert.match(live.replace(/\x1b\[\d*[ABJK]/g, ''), /…  \d+\.\ds$/);
});

test('a miss reason is kept and the instruction gives way', () => {
  const reason = 'files: src/main.c (content), src/util.c (content)';
  const [line] = render([{ type: 'step-started', step: step(2), at: 0, reason }], 100);
  assert.ok(line!.endsWith(`: cache miss: ${reason}`), line);
  assert.ok(line!.length <= 99);
  assert.match(line!, /\[build 2\/3\] RUN apt-get.*…: cache miss/);
});

test('fitLine cuts the middle, keeps head and tail, and handles multi-line instructions', () => {
  assert.equal(fitLine('=> ', 'RUN make all', '  1.0s', 80), '=> RUN make all  1.0s');
  assert.equal(fitLine('=> ', 'RUN abcdefghij', '  1.0s', 15), '=> RUN a…  1.0s');
  assert.equal(fitLine('=> ', 'RUN <<EOF\necho hi\nEOF', '  1.0s', 80), '=> RUN <<EOF…  1.0s');
});

test('colours as BuildKit: done blue, errors red, cached dimmed; none unless asked', () => {
  const events: BuildEvent[] = [
    { type: 'step-cached', step: step(1, 'FROM base'), key: 'k', at: 0 },
    { type: 'step-started', step: step(2, 'RUN ok'), at: 0 },
    { type: 'step-done', step: step(2, 'RUN ok'), key: 'k', durationMs: 100, at: 1 },
    { type: 'step-started', step: step(3, 'RUN bad'), at: 1 },
    { type: 'step-error', step: step(3, 'RUN bad'), message: 'x', durationMs: 100, at: 2 },
  ];
  const coloured = render(events, 80, true);
  assert.ok(coloured.includes('\x1b[2m=> CACHED [build 1/3] FROM base\x1b[0m'), JSON.stringify(coloured));
  assert.ok(coloured.includes('\x1b[34m=> [build 2/3] RUN ok  0.1s\x1b[0m'));
  assert.ok(coloured.includes('\x1b[31m=> ERROR [build 3/3] RUN bad  0.1s\x1b[0m'));
  assert.ok(render(events, 80, false).every((l) => l === visible(l)), 'no colour codes');
});

test('the CLI colours a terminal, and not with NO_COLOR set or stderr not a terminal', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-color-'));
  try {
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY a /a\n');
    await writeFile(join(dir, 'a'), 'a');
    const cmd = [process.execPath, wharfBin, '--root', join(dir, 'root'), 'build', '--no-cache', dir].map((a) => `'${a}'`).join(' ');
    // script(1) gives wharf a terminal; its output (the terminal's) comes back on stdout.
    const onTty = (env: NodeJS.ProcessEnv) => spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env });
    const { NO_COLOR: _, ...base } = process.env;
    const tty = onTty(base);
    assert.equal(tty.status, 0, tty.stdout);
    assert.match(tty.stdout, /\x1b\[34m=> \[stage-0 2\/2\] COPY a \/a  \d+\.\ds\x1b\[0m/);
    assert.doesNotMatch(onTty({ ...base, NO_COLOR: '1' }).stdout, /\x1b\[\d+m/);
    const piped = spawnSync(process.execPath, [wharfBin, '--root', join(dir, 'root'), 'build', '--progress', 'tty', '--no-cache', dir], { encoding: 'utf8', env: base });
    assert.equal(piped.status, 0, piped.stderr);
    assert.doesNotMatch(piped.stderr, /\x1b\[\d+m/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
