import { adviseBuild, type BuildFacts, type OutlineStage } from '../advice/index.js';
import type { SourceFile } from '../diag/index.js';
import type { Plan } from '../plan/index.js';
import type { ExplainedMiss } from '../solver/index.js';
import type { Advice } from '../progress/index.js';

/**
 * The advice a build gives (`--explain`): its misses against the previous build of the target,
 * with the Dockerfile as written. `changed` is what the history keeps for the next build: each
 * context path whose change made a step miss now, with its count of consecutive builds.
 */
export function buildAdvice(plan: Plan, file: SourceFile, misses: readonly ExplainedMiss[], before: ReadonlyMap<string, number>, context: readonly { path: string; type: string }[]): { advice: Advice[]; changed: Map<string, number> } {
  const changed = changedStreaks(misses, before);
  const contextFiles = context.filter((e) => e.type === 'file' && !e.path.includes('/')).map((e) => e.path);
  const facts: BuildFacts = { stages: outline(plan, file), misses, changed, contextFiles };
  return { advice: adviseBuild(facts), changed };
}

export function changedStreaks(misses: readonly ExplainedMiss[], before: ReadonlyMap<string, number>): Map<string, number> {
  const paths = new Set(misses.flatMap((m) => m.parts.filter((p) => p.kind === 'files').flatMap((p) => p.subjects ?? [])));
  return new Map([...paths].sort().map((p) => [p, (before.get(p) ?? 0) + 1]));
}

/** Each stage's instructions with their lines and text as written (ONBUILD triggers left out: they are not in this file). */
function outline(plan: Plan, file: SourceFile): OutlineStage[] {
  return plan.stages.map((stage) => {
    let step = 0;
    const instructions = stage.vertices.flatMap((v) => {
      if (v.filesystem) step++;
      if (v.label.startsWith('[onbuild]')) return [];
      const { start, end } = v.instruction.node.range;
      const text = file.text.slice(start, end).trimEnd();
      const i = v.instruction;
      const declares = i.kind === 'ARG' ? i.args.map((a) => a.key) : i.kind === 'ENV' ? i.pairs.map((p) => p.key) : [];
      const copy = (v.kind === 'copy' || v.kind === 'add') && !v.instruction.from ? { sources: v.instruction.sources.map((s) => s.value), dest: v.instruction.dest.value } : {};
      return [{
        line: file.position(start).line,
        endLine: file.position(start + Math.max(text.length - 1, 0)).line,
        keyword: i.kind,
        text,
        declares,
        ...copy,
        ...(v.filesystem ? { step } : {}),
      }];
    });
    return { index: stage.index, instructions };
  });
}
