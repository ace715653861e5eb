import type { Plan, Vertex } from '../plan/index.js';
import type { GraphStage } from '../progress/index.js';

/**
 * The plan as the `build-graph` event carries it: filesystem steps only (metadata steps make no
 * layer and are never cached), numbered as the step events number them, each with the stages it
 * reads.
 */
export function buildGraph(plan: Plan, lineOf: (v: Vertex) => number | undefined): GraphStage[] {
  const label = (i: number) => plan.stages.find((s) => s.index === i)?.name ?? plan.allStageNames[i] ?? `stage-${i}`;
  let n = 0;
  return plan.stages.map((s) => ({
    index: s.index,
    label: label(s.index),
    base: s.base.kind === 'image' ? s.base.ref : s.base.kind === 'scratch' ? 'scratch' : `stage ${label(s.base.stage)}`,
    target: s.index === plan.target,
    steps: s.vertices
      .filter((v) => v.filesystem)
      .map((v) => {
        const line = lineOf(v);
        return { id: v.id, number: ++n, instruction: v.label, ...(line !== undefined ? { line } : {}), reads: v.edges.map((e) => ({ stage: e.stage, via: e.via })) };
      }),
  }));
}
