import type { ContextStats } from '../context/index.js';
import type { StepMetadata } from './build-metadata.js';
import type { Advice } from '../progress/index.js';

/**
 * `wharf bench` results: per-run figures from each build's metadata file and the summary that
 * answers "is my Dockerfile cache-friendly?". Pure; `bench` returns what it computes, the CLI prints it.
 */
export type BenchMode = 'cold' | 'hit' | 'change';

/** One counted build as measured: wall clock around the process, and its metadata. */
export interface MeasuredRun {
  readonly wallMs: number;
  readonly steps: readonly StepMetadata[];
  readonly context: ContextStats;
  /** What the build's --explain advised (against the build before it). */
  readonly advice?: readonly Advice[];
}

type Miss = NonNullable<StepMetadata['miss']>;

/** A step named as progress output numbers it (1-based across the build, Dockerfile order). */
export interface StepName {
  readonly number: number;
  readonly stage: number;
  readonly index: number;
  readonly instruction: string;
  readonly line?: number;
}

export interface RunReport {
  readonly run: number;
  readonly wallMs: number;
  readonly steps: number;
  readonly cached: number;
  readonly executed: number;
  readonly context: ContextStats;
  /** The first step (Dockerfile order) that ran instead of hitting the cache, and why it missed. */
  readonly firstMiss?: StepName & { readonly miss?: Miss };
  /** `miss`: why a step that ran missed the cache (kind for scripts, text for people). */
  readonly stepTimes: readonly (StepName & { readonly cached: boolean; readonly durationMs: number; readonly miss?: Miss })[];
}

export interface StepSummaryLine extends StepName {
  /** Median over the counted runs. */
  readonly medianMs: number;
  /** Runs in which the step was a cache hit. */
  readonly hits: number;
}

export interface BenchReport {
  readonly mode: BenchMode;
  readonly context: string;
  /** Counted runs; one warm-up build before them is not counted. */
  readonly runs: readonly RunReport[];
  readonly summary: {
    readonly wallMs: { readonly median: number; readonly min: number; readonly max: number };
    readonly steps: readonly StepSummaryLine[];
    /** hit mode: steps that missed in every counted run (they never benefit from the cache). */
    readonly neverHit?: readonly StepName[];
    /** change mode: the earliest step that missed in any run, and in how many runs it did. */
    readonly firstMiss?: StepName & { readonly runs: number };
  };
  /** Concrete advice, each item naming its Dockerfile lines (src/advice). */
  readonly advice: readonly Advice[];
}

export function benchReport(mode: BenchMode, context: string, measured: readonly MeasuredRun[], advice: readonly Advice[] = []): BenchReport {
  const runs = measured.map((m, i): RunReport => {
    const stepTimes = m.steps.map((s, j) => ({ ...nameOf(s, j), cached: s.cached, durationMs: s.durationMs, ...(s.miss ? { miss: s.miss } : {}) }));
    const cached = stepTimes.filter((s) => s.cached).length;
    const miss = stepTimes.find((s) => !s.cached);
    return {
      run: i + 1,
      wallMs: Math.round(m.wallMs),
      steps: stepTimes.length,
      cached,
      executed: stepTimes.length - cached,
      context: m.context,
      ...(miss ? { firstMiss: { ...nameOf(miss, miss.number - 1), ...(miss.miss ? { miss: miss.miss } : {}) } } : {}),
      stepTimes,
    };
  });
  // Runs of one build list the same steps in the same order; key them by stage and position anyway.
  const byStep = new Map<string, { name: StepName; times: number[]; hits: number }>();
  for (const r of runs) {
    for (const s of r.stepTimes) {
      const k = `${s.stage}/${s.index}`;
      const e = byStep.get(k) ?? { name: nameOf(s, s.number - 1), times: [], hits: 0 };
      e.times.push(s.durationMs);
      if (s.cached) e.hits++;
      byStep.set(k, e);
    }
  }
  const steps = [...byStep.values()].map((e) => ({ ...e.name, medianMs: median(e.times), hits: e.hits }));
  const walls = runs.map((r) => r.wallMs);
  const misses = runs.flatMap((r) => (r.firstMiss ? [r.firstMiss] : []));
  const first = misses.sort((a, b) => a.number - b.number)[0];
  return {
    mode,
    context,
    runs,
    summary: {
      wallMs: { median: median(walls), min: Math.min(...walls), max: Math.max(...walls) },
      steps,
      ...(mode === 'hit' ? { neverHit: steps.filter((s) => s.hits === 0).map((s) => nameOf(s, s.number - 1)) } : {}),
      ...(mode === 'change' && first ? { firstMiss: { ...first, runs: misses.filter((m) => m.number === first.number).length } } : {}),
    },
    advice,
  };
}

function nameOf(s: { stage: number; index: number; instruction: string; line?: number }, position: number): StepName {
  return { number: position + 1, stage: s.stage, index: s.index, instruction: s.instruction, ...(s.line !== undefined ? { line: s.line } : {}) };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
