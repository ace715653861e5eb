import type { Range } from '../diag/index.js';
import type {
  ArgInstruction,
  CmdInstruction,
  CopyInstruction,
  EnvInstruction,
  FromInstruction,
  HealthcheckInstruction,
  ListInstruction,
  OnbuildInstruction,
  RunEnv,
  RunInstruction,
  ShellInstruction,
  TextInstruction,
} from '../instructions/index.js';

export type VertexKind = Vertex['kind'];

/** Where a vertex reads another stage's result. */
export interface StageEdge {
  readonly stage: number;
  readonly via: 'from' | 'copy-from' | 'mount-from';
  readonly range: Range;
}

interface VertexBase {
  /** Stable within one plan: `s<stage>v<n>` (`s1v0` is stage 1's FROM). */
  readonly id: string;
  readonly stage: number;
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

export type WorkdirInstruction = TextInstruction & { readonly kind: 'WORKDIR' };
/** The instructions that only change the image config (and add an `empty_layer` history entry). */
export type MetaInstruction =
  | EnvInstruction
  | ArgInstruction
  | CmdInstruction
  | ShellInstruction
  | ListInstruction
  | (TextInstruction & { readonly kind: 'USER' | 'STOPSIGNAL' | 'MAINTAINER' })
  | HealthcheckInstruction
  | OnbuildInstruction;

/**
 * A step of the plan, by kind. `filesystem` is true for steps that produce a layer or a base
 * (FROM, RUN, COPY, ADD, WORKDIR); `instruction` is the expanded instruction.
 */
export interface FromVertex extends VertexBase {
  readonly kind: 'from';
  readonly filesystem: true;
  readonly instruction: FromInstruction;
}
export interface RunVertex extends VertexBase {
  readonly kind: 'run';
  readonly filesystem: true;
  readonly instruction: RunInstruction;
  /** The environment in effect. */
  readonly runEnv?: RunEnv;
}
export interface CopyVertex extends VertexBase {
  readonly kind: 'copy' | 'add';
  readonly filesystem: true;
  readonly instruction: CopyInstruction;
}
export interface WorkdirVertex extends VertexBase {
  readonly kind: 'workdir';
  readonly filesystem: true;
  readonly instruction: WorkdirInstruction;
}
export interface MetaVertex extends VertexBase {
  readonly kind: 'meta';
  readonly filesystem: false;
  readonly instruction: MetaInstruction;
}

export type Vertex = FromVertex | RunVertex | CopyVertex | WorkdirVertex | MetaVertex;
/** The steps that make a layer, looked up in the cache first. */
export type LayerVertex = RunVertex | CopyVertex | WorkdirVertex;

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
