import type { ContextStats } from '../context/index.js';
import type { StepMetadata } from '../api/index.js';
import { adviceLines, type Advice } from '../progress/index.js';

/**
 * `wharf bench` results: per-run figures from each build's metadata file and the summary that
 * answers "is my Dockerfile cache-friendly?". Pure functions; the command prints what they return.
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

/** The tables and summary for a terminal. */
export function renderBenchText(r: BenchReport): string {
  const out: string[] = [];
  out.push(`wharf bench: ${r.mode} mode, ${r.runs.length} run${r.runs.length === 1 ? '' : 's'} of ${r.context} (after 1 warm-up build)`);
  out.push('');
  out.push(
    table(
      ['run', 'wall', 'cached/executed', 'bytes hashed', 'files read/from stat cache'],
      r.runs.map((x) => [String(x.run), seconds(x.wallMs), `${x.cached}/${x.executed}`, bytes(x.context.bytesHashed), `${x.context.filesHashed}/${x.context.filesFromStatCache}`]),
    ),
  );
  const w = r.summary.wallMs;
  out.push('');
  out.push(`wall: median ${seconds(w.median)}, min ${seconds(w.min)}, max ${seconds(w.max)}`);
  out.push('');
  out.push('time per step (median over runs):');
  out.push(table(['step', 'time', 'hits', 'instruction'], r.summary.steps.map((s) => [`#${s.number}`, `${Math.round(s.medianMs)} ms`, `${s.hits}/${r.runs.length}`, describe(s)])));
  if (r.summary.neverHit) {
    out.push('');
    if (r.summary.neverHit.length === 0) out.push('every step hit the cache at least once');
    else {
      out.push('never hit the cache (these run on every build):');
      for (const s of r.summary.neverHit) out.push(`  #${s.number} ${describe(s)}`);
    }
  }
  if (r.mode === 'change') {
    out.push('');
    const f = r.summary.firstMiss;
    out.push(f ? `first miss: #${f.number} ${describe(f)}, in ${f.runs}/${r.runs.length} runs; it and the steps after it in its stage run again` : 'no step missed: the changed files do not reach any step (ignored, or not copied)');
    const why = r.runs.find((x) => x.firstMiss?.number === f?.number)?.firstMiss?.miss;
    if (why) out.push(`  why: ${why.text}`);
  }
  if (r.advice.length) {
    out.push('');
    out.push(...adviceLines(r.advice));
  }
  return out.join('\n') + '\n';
}

/** One line per counted run on stderr while the benchmark goes, so a long one shows life. */
export function renderRunLine(label: string, wallMs: number, steps: readonly StepMetadata[]): string {
  return `${label}: ${seconds(wallMs)}, ${steps.filter((s) => s.cached).length}/${steps.length} cached\n`;
}

function nameOf(s: { stage: number; index: number; instruction: string; line?: number }, position: number): StepName {
  return { number: position + 1, stage: s.stage, index: s.index, instruction: s.instruction, ...(s.line !== undefined ? { line: s.line } : {}) };
}

const describe = (s: StepName) => `${s.instruction}${s.line !== undefined ? ` (line ${s.line})` : ''}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Left-aligned columns, two spaces apart. */
function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
