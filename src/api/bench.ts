/**
 * `bench`: "is my Dockerfile cache-friendly?" Builds a context repeatedly (one warm-up build, then
 * the counted runs), cold (the build cache of this build forgotten before each run), hit or change
 * (files rewritten before each run and restored after), and returns per-run figures, a summary
 * and advice (bench-report.ts). Each build runs in this process unless the caller runs it
 * (`runBuild`: the CLI runs a `wharf build` process, so the wall clock counts its start-up).
 */
import { relative, resolve } from 'node:path';
import { nowMs, UserError } from '../util/index.js';
import { FsBlobStore } from '../store/index.js';
import { openCache } from '../cache/index.js';
import type { Sha256 } from '../hash/index.js';
import { mergeAdvice, nonReproducible, type Rerun } from '../advice/index.js';
import type { Advice } from '../progress/index.js';
import { build, type BuildOptions } from './build.js';
import type { BuildMetadata, StepMetadata } from './build-metadata.js';
import { forgetBuild } from './forget-build.js';
import { BENCH_USAGE } from './build-codes.js';
import { openChangedFiles } from './bench-changes.js';
import { benchReport, type BenchMode, type BenchReport, type MeasuredRun } from './bench-report.js';

export interface BenchOptions {
  readonly root: string;
  /** The context directory (relative to `cwd`); the report names it as given. */
  readonly context: string;
  readonly cwd?: string;
  /** hit by default. */
  readonly mode?: BenchMode;
  /** Counted runs (5 by default), after one warm-up build. */
  readonly runs?: number;
  /** change mode: files of the context given new content before each run (restored at the end). */
  readonly change?: readonly string[];
  /** Then build every step of the last run twice more with the same keys, and advise on the steps whose layers differ. */
  readonly checkReproducible?: boolean;
  /** What every build takes besides the root and context (Dockerfile, build args, target, …). */
  readonly build?: Omit<BuildOptions, 'root' | 'context' | 'cwd' | 'stdin' | 'explain' | 'output' | 'push'>;
}

/** One build the benchmark asks for; the reproducibility check adds its stages and SOURCE_DATE_EPOCH. */
export interface BenchBuild {
  readonly label: string;
  /** The context directory, resolved. */
  readonly contextDir: string;
  readonly noCacheStages: readonly string[];
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
}

/** After each build: its label, wall clock and steps (`counted`: one of the runs the report is about). */
export interface BenchEvent {
  readonly type: 'bench-run';
  readonly label: string;
  readonly counted: boolean;
  readonly wallMs: number;
  readonly steps: readonly StepMetadata[];
}

export interface BenchHooks {
  readonly onEvent?: (e: BenchEvent) => void;
  /** Aborting stops the running build and restores the changed files. */
  readonly signal?: AbortSignal;
  /** Runs one build with `--explain` and returns its metadata; `build()` in this process by default. */
  readonly runBuild?: (b: BenchBuild) => Promise<BuildMetadata>;
}

const MODES: readonly BenchMode[] = ['cold', 'hit', 'change'];
const usage = (message: string) => new UserError(BENCH_USAGE, message);

export async function bench(o: BenchOptions, hooks: BenchHooks = {}): Promise<BenchReport> {
  const mode = o.mode ?? 'hit';
  const runs = o.runs ?? 5;
  const change = o.change ?? [];
  if (!MODES.includes(mode)) throw usage(`--mode ${String(mode)}: use one of ${MODES.join(', ')}`);
  if (!Number.isInteger(runs) || runs < 1) throw usage(`--runs ${runs}: give a whole number of runs, 1 or more`);
  if (mode === 'change' && change.length === 0) throw usage('--mode change needs at least one --change PATH (a file in the context to rewrite before each run)');
  if (mode !== 'change' && change.length > 0) throw usage(`--change applies to --mode change only (this is --mode ${mode})`);
  if (o.build?.dockerfile === '-') throw usage('--file -: every run reads the Dockerfile again; give its path');
  const contextDir = resolve(o.cwd ?? '.', o.context);
  const changes = await openChangedFiles(contextDir, change);
  if ('error' in changes) throw usage(changes.error);
  const signal = hooks.signal ?? new AbortController().signal;
  const runBuild = hooks.runBuild ?? inProcess(o);
  try {
    const measure = async (label: string, counted: boolean, extra: Pick<BenchBuild, 'noCacheStages' | 'buildArgs'> = { noCacheStages: [], buildArgs: {} }): Promise<MeasuredRun> => {
      const t0 = nowMs();
      const meta = await runBuild({ label, contextDir, ...extra, signal });
      const wallMs = nowMs() - t0;
      signal.throwIfAborted();
      hooks.onEvent?.({ type: 'bench-run', label, counted, wallMs, steps: meta['wharf.steps'] });
      return { wallMs, steps: meta['wharf.steps'], context: meta['wharf.context'], advice: meta['wharf.advice'] ?? [] };
    };
    // The warm-up fills the cache (hit, change) and names the keys a cold run must forget.
    let previous = await measure('warm-up (not counted)', false);
    const measured: MeasuredRun[] = [];
    for (let i = 1; i <= runs; i++) {
      if (mode === 'cold') await forgetBuild(o.root, { cacheKeys: previous.steps.map((s) => s.cacheKey), contextDir });
      if (mode === 'change') await changes.rewrite(i);
      previous = await measure(`run ${i}/${runs}`, true);
      measured.push(previous);
    }
    const reruns = o.checkReproducible ? await rerunTwice(o, previous, measure) : [];
    const advice = benchAdvice(measured, change.map((c) => relative(contextDir, resolve(contextDir, c))), reruns);
    return benchReport(mode, o.context, measured, advice);
  } finally {
    await changes.restore();
  }
}

/** The builds in this process, explained against the one before (their advice is the report's). */
function inProcess(o: BenchOptions): (b: BenchBuild) => Promise<BuildMetadata> {
  const args = givenArgs(o);
  return async (b) => {
    const r = await build(
      { ...o.build, root: o.root, ...(o.cwd !== undefined ? { cwd: o.cwd } : {}), context: b.contextDir, explain: true, buildArgs: { ...args, ...b.buildArgs }, noCacheStages: [...(o.build?.noCacheStages ?? []), ...b.noCacheStages] },
      { signal: b.signal },
    );
    return r.metadata;
  };
}

/** The caller's build args as a record (BuildOptions takes a Map too). */
function givenArgs(o: BenchOptions): Record<string, string> {
  const given = o.build?.buildArgs;
  return given instanceof Map ? Object.fromEntries(given) : { ...(given as Readonly<Record<string, string>> | undefined) };
}

/**
 * The advice of every counted run (each build explains its misses against the one before), less
 * .dockerignore advice about the files `change` rewrote on purpose, plus what the reproducibility
 * check found.
 */
function benchAdvice(measured: readonly MeasuredRun[], changed: readonly string[], reruns: readonly Rerun[]): Advice[] {
  const kept = measured.map((m) => (m.advice ?? []).filter((a) => a.rule !== 'dockerignore' || !a.files?.some((f) => changed.includes(f))));
  return [...mergeAdvice(kept), ...nonReproducible(reruns)];
}

type Measure = (label: string, counted: boolean, extra: Pick<BenchBuild, 'noCacheStages' | 'buildArgs'>) => Promise<MeasuredRun>;

/**
 * `checkReproducible`: runs every step of the last build twice more with the same keys
 * (`--no-cache-filter` on each of its stages) and pairs the layers each run recorded. Both runs
 * clamp file times to one SOURCE_DATE_EPOCH (the caller's, else a fixed one), so a step that writes
 * the same bytes gives the same layer and only real differences (dates, random data) show.
 */
async function rerunTwice(o: BenchOptions, last: MeasuredRun, measure: Measure): Promise<Rerun[]> {
  const stages = [...new Set(last.steps.map((s) => s.stage))];
  const hasEpoch = givenArgs(o).SOURCE_DATE_EPOCH !== undefined || o.build?.sourceDateEpoch !== undefined;
  const buildArgs: Record<string, string> = hasEpoch ? {} : { SOURCE_DATE_EPOCH: String(FIXED_EPOCH) };
  const extra = { noCacheStages: stages.map(String), buildArgs };
  const cache = openCache(o.root, new FsBlobStore(o.root));
  const layers = async (run: MeasuredRun) => Promise.all(run.steps.map(async (s) => (s.cached ? undefined : (await cache.get(s.cacheKey as Sha256))?.diffId)));
  const first = await measure('reproducibility check 1/2 (not counted)', false, extra);
  const a = await layers(first);
  const second = await measure('reproducibility check 2/2 (not counted)', false, extra);
  const b = await layers(second);
  return second.steps.flatMap((s, i) => {
    const [x, y] = [a[i], b[i]];
    // Same key in both runs, else the two layers are not comparable (an input changed meanwhile).
    if (!x || !y || first.steps[i]?.cacheKey !== s.cacheKey) return [];
    return [{ stage: s.stage, index: s.index, number: i + 1, instruction: s.instruction, ...(s.line !== undefined ? { line: s.line } : {}), diffIds: [x, y] as const }];
  });
}

/** 2023-11-14: any fixed instant does; file times newer than it are clamped to it. */
const FIXED_EPOCH = 1700000000;
