import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRenderer, type BuildEvent, type StepRef } from '../../src/progress/index.js';

const step = (number: number, position: number, instruction: string): StepRef => ({ id: `s0v${position}`, number, stage: 0, stageLabel: 'build', position, total: 3, instruction });
const EVENTS: BuildEvent[] = [
  { type: 'step-cached', step: step(1, 1, 'FROM base'), key: 'k1', at: 0 },
  { type: 'step-started', step: step(2, 2, 'RUN make'), at: 1, reason: 'files: a.c (content)' },
  { type: 'step-log', step: step(2, 2, 'RUN make'), stream: 'stdout', line: 'cc a.c', at: 2 },
  { type: 'step-done', step: step(2, 2, 'RUN make'), key: 'k2', durationMs: 1234, at: 3 },
  { type: 'build-done', name: 'app:1', names: ['docker.io/library/app:1'], imageId: 'sha256:' + 'a'.repeat(64), durationMs: 1500, steps: 2, cached: 1, at: 4 },
];

function render(mode: 'plain' | 'json' | 'quiet' | 'tty'): string {
  let text = '';
  const r = createRenderer(mode, { write: (s: string) => (text += s), columns: 80 });
  for (const e of EVENTS) r.sink(e);
  r.close();
  return text;
}

test('plain: numbered steps, CACHED or DONE with time, prefixed output, miss reason and summary', () => {
  assert.equal(
    render('plain'),
    [
      '#1 [build 1/3] FROM base',
      '#1 CACHED',
      '#2 [build 2/3] RUN make',
      '#2 cache miss: files: a.c (content)',
      '#2 cc a.c',
      '#2 DONE 1.2s',
      `writing image sha256:${'a'.repeat(64)}`,
      'naming to docker.io/library/app:1',
      'built app:1 in 1.5s, 1/2 cached',
      '',
    ].join('\n'),
  );
});

test('json: one parseable event per line, in order', () => {
  const lines = render('json').trim().split('\n');
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as BuildEvent).type), EVENTS.map((e) => e.type));
});

test('quiet prints only the image ID; tty ends with finished steps and the summary', () => {
  assert.equal(render('quiet'), `sha256:${'a'.repeat(64)}\n`);
  const tty = render('tty');
  const visible = tty.replace(/\x1b\[\d*[A-Za-z]/g, '');
  assert.match(visible, /=> CACHED \[build 1\/3\] FROM base\n/);
  assert.match(visible, /=> \[build 2\/3\] RUN make  1\.2s\n/);
  assert.ok(visible.endsWith(`=> writing image sha256:${'a'.repeat(64)}\n=> naming to docker.io/library/app:1\nbuilt app:1 in 1.5s, 1/2 cached\n`), visible);
});
