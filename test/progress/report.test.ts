import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReportHtml, reportCollector, type BuildEvent, type GraphStage, type StepRef } from '../../src/progress/index.js';

// The report's data and drawing from a made-up event stream: what each outcome becomes, mount
// edges, and the critical path through the stage that finished last.
const GRAPH: GraphStage[] = [
  { index: 0, label: 'deps', base: 'busybox:test', target: false, steps: [{ id: 's0v0', number: 1, instruction: 'FROM busybox:test AS deps', line: 1, reads: [] }, { id: 's0v1', number: 2, instruction: 'RUN make deps', line: 2, reads: [] }] },
  { index: 1, label: 'tools', base: 'busybox:test', target: false, steps: [{ id: 's1v0', number: 3, instruction: 'FROM busybox:test AS tools', line: 3, reads: [] }, { id: 's1v1', number: 4, instruction: 'RUN make tools', line: 4, reads: [] }] },
  {
    index: 2,
    label: 'stage-2',
    base: 'stage deps',
    target: true,
    steps: [
      { id: 's2v0', number: 5, instruction: 'FROM deps', line: 5, reads: [{ stage: 0, via: 'from' }] },
      { id: 's2v1', number: 6, instruction: 'RUN --mount=from=tools,target=/t /t/build', line: 6, reads: [{ stage: 1, via: 'mount-from' }] },
      { id: 's2v2', number: 7, instruction: 'RUN test', line: 7, reads: [] },
    ],
  },
];
const ref = (id: string): StepRef => {
  const st = GRAPH.find((s) => s.steps.some((x) => x.id === id))!;
  const s = st.steps.find((x) => x.id === id)!;
  return { id, number: s.number, stage: st.index, stageLabel: st.label, position: st.steps.indexOf(s) + 1, total: st.steps.length, instruction: s.instruction };
};

function events(): BuildEvent[] {
  return [
    { type: 'build-graph', stages: GRAPH, at: 1 },
    { type: 'step-cached', step: ref('s0v0'), key: 'k', durationMs: 2, at: 5 },
    { type: 'step-cached', step: ref('s1v0'), key: 'k', durationMs: 2, at: 5 },
    { type: 'step-cached', step: ref('s0v1'), key: 'k', durationMs: 1, at: 6 },
    { type: 'step-started', step: ref('s1v1'), at: 6, reason: 'instruction changed (line 4)', miss: { kind: 'instruction', text: 'instruction changed (line 4): RUN make  →  RUN make tools' } },
    { type: 'step-done', step: ref('s1v1'), key: 'k', durationMs: 400, at: 406 },
    { type: 'step-cached', step: ref('s2v0'), key: 'k', durationMs: 1, at: 407 },
    { type: 'step-started', step: ref('s2v1'), at: 408, reason: 'parent changed', miss: { kind: 'parent', text: 'the mounted stage changed' } },
    { type: 'step-error', step: ref('s2v1'), message: 'process "/t/build" exited with code 2\nmore', durationMs: 50, exitCode: 2, at: 458 },
  ];
}

test('the collector: cached, executed (with its miss), failed (with its exit status) and not run, each with its times', () => {
  const c = reportCollector();
  for (const e of events()) c.sink(e);
  const rec = c.record('build', 'process "/t/build" exited with code 2');
  assert.equal(rec.ok, false);
  assert.deepEqual(rec.steps.s1v1, { outcome: 'executed', start: 6, end: 406, miss: { kind: 'instruction', text: 'instruction changed (line 4): RUN make  →  RUN make tools' } });
  assert.deepEqual(rec.steps.s0v0, { outcome: 'cached', start: 3, end: 5 });
  assert.deepEqual(rec.steps.s2v1, { outcome: 'failed', start: 408, end: 458, miss: { kind: 'parent', text: 'the mounted stage changed' }, error: 'process "/t/build" exited with code 2', exitCode: 2 });
  assert.deepEqual(rec.steps.s2v2, { outcome: 'not-run' });
  assert.equal(rec.failure, 'process "/t/build" exited with code 2');
  assert.equal(rec.context, undefined);
});

test('a step cut short by another failure is drawn as cancelled, ending when the build did', () => {
  const c = reportCollector();
  for (const e of events().slice(0, 4)) c.sink(e);
  c.sink({ type: 'step-started', step: ref('s1v1'), at: 6 });
  c.sink({ type: 'build-failed', code: 'x', message: 'another step failed', at: 90 });
  const rec = c.record('build');
  assert.deepEqual(rec.steps.s1v1, { outcome: 'cancelled', start: 6, end: 90 });
  assert.equal(rec.failure, 'another step failed');
});

test('the page: a FROM-stage edge and a mount edge, the critical path through the slower stage, the miss on hover', () => {
  const c = reportCollector();
  for (const e of events()) c.sink(e);
  const html = renderReportHtml({ title: 'wharf build .', runs: [c.record('build', 'failed')] });
  assert.equal(html.match(/<g class="stage-edge from"/g)?.length, 1);
  assert.equal(html.match(/<g class="stage-edge mount-from"/g)?.length, 1);
  // s2v1 ended last; before it s2v0, which waited for both stages: tools (s1v1, 406) ended after deps (s0v1, 6).
  const critical = [...html.matchAll(/<g class="bar [a-z-]+ critical" data-step="(\w+)"/g)].map((m) => m[1]);
  assert.deepEqual(critical.sort(), ['s1v0', 's1v1', 's2v0', 's2v1']);
  assert.match(html, /<g class="node executed" data-step="s1v1"[^>]*><title>#4 RUN make tools {2}\(line 4\)\nexecuted in 400 ms\ncache miss \(instruction\): instruction changed \(line 4\): RUN make {2}→ {2}RUN make tools<\/title>/);
  assert.match(html, /<g class="node failed" data-step="s2v1"[^>]*>.*?<text class="n2"[^>]*>failed · 50 ms · exit 2<\/text>/s);
  // Text from the build is escaped, and `</script>` in it cannot end the data block early.
  const c2 = reportCollector();
  c2.sink({ type: 'build-graph', stages: [{ ...GRAPH[0]!, steps: [{ ...GRAPH[0]!.steps[0]!, instruction: 'RUN echo "</script><b>"' }] }], at: 0 });
  const page = renderReportHtml({ title: 'x', runs: [c2.record('build')] });
  assert.doesNotMatch(page, /<b>/);
  assert.equal(page.match(/<\/script>/g)?.length, 3, 'the three scripts of the page, no more');
});
