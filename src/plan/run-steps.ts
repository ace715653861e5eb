import type { Plan } from './types.js';

/** The ids of the steps that have a RUN at or after them in their stage. */
export function stepsUpToLastRun(plan: Plan): Set<string> {
  const ids = new Set<string>();
  for (const stage of plan.stages) {
    let last = -1;
    stage.vertices.forEach((v, i) => {
      if (v.kind === 'run') last = i;
    });
    for (const v of stage.vertices.slice(0, last + 1)) ids.add(v.id);
  }
  return ids;
}
