import type { MissKind } from '../progress/index.js';

/**
 * What the advice rules read: the Dockerfile as written (per stage, each instruction with its
 * lines and text) and what a build measured (which steps missed, and every difference found
 * against the previous build of the same target). Plain data, so the rules are pure functions
 * that tests and `wharf bench` can feed as well as `build` does.
 */
export interface OutlineInstruction {
  /** 1-based first and last Dockerfile line (an instruction may continue over several). */
  readonly line: number;
  readonly endLine: number;
  /** Upper case: `RUN`, `COPY`, `ARG`… */
  readonly keyword: string;
  /** As written, flags and heredoc bodies included (not expanded). */
  readonly text: string;
  /** ARG and ENV: the names it declares. */
  readonly declares: readonly string[];
  /** COPY/ADD from the context (no --from): the sources and the destination. */
  readonly sources?: readonly string[];
  readonly dest?: string;
  /** A filesystem step: its 1-based position among its stage's steps (FROM is 1), as StepSummary's `index`. */
  readonly step?: number;
}

export interface OutlineStage {
  readonly index: number;
  readonly instructions: readonly OutlineInstruction[];
}

/** One difference a miss explanation found (solver's MissPart, without its wording). */
export interface MissFact {
  readonly kind: MissKind;
  /** A build arg's or env's name; the changed files' paths. */
  readonly subjects?: readonly string[];
}

export interface StepMiss {
  readonly stage: number;
  readonly index: number;
  readonly parts: readonly MissFact[];
}

export interface BuildFacts {
  readonly stages: readonly OutlineStage[];
  /** The steps that missed and could be compared with the previous build, in Dockerfile order. */
  readonly misses: readonly StepMiss[];
  /** Context paths whose change made a step of this build miss, each with the number of consecutive builds (this one included) it changed in. */
  readonly changed: ReadonlyMap<string, number>;
  /** The context's top-level file names (after .dockerignore), to name the manifests it has. */
  readonly contextFiles?: readonly string[];
}

/** A step's instruction in the outline (undefined for steps from a base's ONBUILD triggers). */
export function instructionOf(facts: BuildFacts, stage: number, index: number): OutlineInstruction | undefined {
  return facts.stages.find((s) => s.index === stage)?.instructions.find((i) => i.step === index);
}

/**
 * The missed steps right after `m` in its stage that missed only because it did (their parent
 * changed), or for what `also` accepts (the same variables changing in their env too).
 */
export function cascade(facts: BuildFacts, m: StepMiss, also: (p: MissFact) => boolean = () => false): StepMiss[] {
  const out: StepMiss[] = [];
  for (let i = m.index + 1; ; i++) {
    const next = facts.misses.find((x) => x.stage === m.stage && x.index === i);
    if (!next || !next.parts.every((p) => p.kind === 'parent' || also(p))) return out;
    out.push(next);
  }
}

/** `2 steps`, `1 step`. */
export const steps = (n: number): string => `${n} step${n === 1 ? '' : 's'}`;

/** `line 4`, `lines 4, 5`. */
export const lines = (ls: readonly number[]): string => `line${ls.length === 1 ? '' : 's'} ${ls.join(', ')}`;
