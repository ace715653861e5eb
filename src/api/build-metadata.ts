import type { SourceFile } from '../diag/index.js';
import type { Plan } from '../plan/index.js';
import type { StepSummary } from '../solver/index.js';
import type { ContextStats } from '../context/index.js';
import type { Advice } from '../progress/index.js';

/** A step as `--metadata-file` lists it under `wharf.steps`. */
export interface StepMetadata extends StepSummary {
  /** 1-based Dockerfile line of the instruction; absent for steps from a base's ONBUILD triggers. */
  readonly line?: number;
}

/** What `wharf build --metadata-file` writes (docker buildx's keys plus wharf's own). */
export interface BuildMetadata {
  readonly 'containerimage.digest': string;
  readonly 'containerimage.config.digest': string;
  readonly 'image.name'?: string;
  readonly 'wharf.steps': readonly StepMetadata[];
  /** How the context was read: files hashed vs answered by the stat cache. */
  readonly 'wharf.context': ContextStats;
  /** `--explain`: advice from this build's misses (src/advice). */
  readonly 'wharf.advice'?: readonly Advice[];
}

/** The steps with the Dockerfile line each came from, found through the plan's vertices. */
export function stepsWithLines(steps: readonly StepSummary[], plan: Plan, file: SourceFile): StepMetadata[] {
  return steps.map((s) => {
    const vertex = plan.stages.find((st) => st.index === s.stage)?.vertices.filter((v) => v.filesystem)[s.index - 1];
    // Trigger instructions were parsed from the base image's config, not from this file.
    if (!vertex || vertex.label.startsWith('[onbuild]')) return s;
    return { ...s, line: file.position(vertex.instruction.node.range.start).line };
  });
}
