import type { Range } from '../diag/index.js';
import type { RunEnv, TypedInstruction } from '../instructions/index.js';

export type VertexKind = 'from' | 'run' | 'copy' | 'add' | 'workdir' | 'meta';

/** Where a vertex reads another stage's result. */
export interface StageEdge {
  readonly stage: number;
  readonly via: 'from' | 'copy-from' | 'mount-from';
  readonly range: Range;
}

export interface Vertex {
  /** Stable within one plan: `s<stage>v<n>` (`s1v0` is stage 1's FROM). */
  readonly id: string;
  readonly stage: number;
  readonly kind: VertexKind;
  /** True for steps that produce a layer or a base (FROM, RUN, COPY, ADD, WORKDIR). */
  readonly filesystem: boolean;
  /** The expanded instruction (for `from`, the FROM instruction). */
  readonly instruction: TypedInstruction;
  /** For RUN: the environment in effect. */
  readonly runEnv?: RunEnv;
  /** The previous vertex of the stage (the config chain). */
  readonly prev?: string;
  /** The previous filesystem vertex of the stage: the parent in this vertex's cache key. */
  readonly fsParent?: string;
  /** USER, WORKDIR and SHELL in effect when this vertex runs (part of a RUN's cache key). */
  readonly context: ExecContext;
  /** Other stages this vertex reads. */
  readonly edges: readonly StageEdge[];
  /** One-line description, e.g. `RUN make`. */
  readonly label: string;
}

/**
 * What earlier steps of the stage (and of a parent stage) set. Absent fields come from the base
 * image's config, which the plan does not know. A `workdir` not starting with `/` is relative to
 * the base image's WorkingDir (a relative WORKDIR before any absolute one).
 */
export interface ExecContext {
  readonly user?: string;
  readonly workdir?: string;
  readonly shell?: readonly string[];
}

export type StageBase =
  | { readonly kind: 'image'; readonly ref: string }
  | { readonly kind: 'scratch' }
  | { readonly kind: 'stage'; readonly stage: number };

export interface PlanStage {
  readonly index: number;
  readonly name?: string;
  readonly base: StageBase;
  readonly platform?: string;
  readonly vertices: readonly Vertex[];
  /** Stages this one needs (base, COPY --from, mount from), sorted. */
  readonly dependsOn: readonly number[];
  /** Images read by COPY --from or a mount's from= that are not stages. */
  readonly images: readonly string[];
}

export interface Plan {
  /** The stages the target needs, in Dockerfile order (original indices kept). */
  readonly stages: readonly PlanStage[];
  readonly target: number;
  /** Every stage name in the file, by index (undefined for unnamed ones). */
  readonly allStageNames: readonly (string | undefined)[];
}
