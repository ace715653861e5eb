import { availableParallelism } from 'node:os';
import PQueue from 'p-queue';
import type { FromVertex, LayerVertex, MetaVertex, Plan, PlanStage, Vertex } from '../plan/index.js';
import { cacheKey, withEnvelope, type BaselineStep, type BuildKeyFields, type KeyMaterialField, type CacheRecord, type CacheStore, type ParentKey, type StepKey, type StepKeyMaterial } from '../cache/index.js';
import type { Sha256 } from '../hash/index.js';
import type { BuildEvent, MissReason, StepRef } from '../progress/index.js';
import { explainAgainst, missReason, type MissPart } from './miss.js';
import { isNoSpace, isoTime, isUserError, NoSpaceError, nowMs, UserError } from '../util/index.js';

/**
 * How many steps run at once. Independent stages run side by side, and a stage waits for another
 * only at the step that reads it, as BuildKit's graph does. A stage is mostly waiting (overlay
 * mount, runtime start, layer commit I/O, or a RUN's own sleeps and downloads), so even its
 * CPU-bound steps overlap well with another stage's waits: `wide` (four independent stages) took
 * 1.61 s at 2 vs BuildKit's 1.15 s, which starts every ready stage at once. At least 4, twice the
 * cores on bigger machines.
 */
export const DEFAULT_CONCURRENCY = Math.max(4, availableParallelism() * 2);

/** What the solver needs to know of a stage's state: the key its next filesystem step chains on. */
export interface SolveState {
  readonly key: ParentKey;
}

export interface StepIo {
  readonly signal: AbortSignal;
  readonly log: (stream: 'stdout' | 'stderr', line: string) => void;
}

/** A step's own key material (the solver adds the envelope), plus finer detail (kept in the record) to explain a later miss. */
export interface StepKeyInputs {
  readonly key: StepKey;
  readonly detail?: unknown;
}

/** A step's whole key material, as a miss is explained with it. */
export interface KeyInputs {
  readonly material: StepKeyMaterial;
  readonly detail?: unknown;
}

/** A step's layer, as a cache record keeps it. */
export interface StepLayer {
  readonly descriptor: CacheRecord['layer'];
  readonly diffId: CacheRecord['diffId'];
}

/** The work itself, implemented by ops/. `stages` holds the finished stages this one may read. */
export interface VertexOps<S extends SolveState> {
  /** What every key of this build shares (platform, SOURCE_DATE_EPOCH); the solver adds version and parent. */
  readonly keyFields: BuildKeyFields;
  from(stage: PlanStage, vertex: FromVertex, stages: ReadonlyMap<number, S>, io: StepIo): Promise<S>;
  meta(vertex: MetaVertex, state: S): S;
  keyMaterial(vertex: LayerVertex, state: S, stages: ReadonlyMap<number, S>): Promise<StepKeyInputs>;
  /** What differs in `fields` (among `exec` and `inputs`) between `now` and `before`, worded for people. */
  explain?(vertex: LayerVertex, now: KeyInputs, before: CacheRecord, fields: readonly KeyMaterialField[]): MissPart[];
  reuse(vertex: LayerVertex, state: S, record: CacheRecord): Promise<S>;
  /** `created`: the time the state's history gives the step, kept in the record for later reuse. */
  execute(vertex: LayerVertex, state: S, key: Sha256, stages: ReadonlyMap<number, S>, io: StepIo): Promise<{ state: S; layer: StepLayer; created?: string }>;
}

export interface SolveOptions {
  readonly cache: CacheStore;
  readonly emit: (e: BuildEvent) => void;
  readonly noCache?: boolean;
  /** Stages (by index) whose steps always run, as `--no-cache-filter` asks. */
  readonly noCacheStages?: ReadonlySet<number>;
  /** Stages run at once (default DEFAULT_CONCURRENCY). */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** nowMs() (util; performance.now()'s clock) at the start of the build, for event times. */
  readonly startedAt?: number;
  /** The steps of the previous build of this target: misses are explained against them. */
  readonly baseline?: readonly BaselineStep[];
  /** A vertex's 1-based Dockerfile line, for miss reasons (absent for ONBUILD triggers). */
  readonly lineOf?: (v: Vertex) => number | undefined;
}

export interface StepSummary {
  readonly stage: number;
  readonly index: number;
  readonly instruction: string;
  readonly cacheKey: string;
  readonly cached: boolean;
  readonly durationMs: number;
  /** Why a step that ran missed the cache, when there was something to compare with. */
  readonly miss?: MissReason;
}

export interface SolveResult<S> {
  readonly target: S;
  readonly stages: ReadonlyMap<number, S>;
  /** Every filesystem step (FROM included) in Dockerfile order. */
  readonly steps: readonly StepSummary[];
  /** Each explained miss part by part, with its subjects in full (what advice is drawn from). */
  readonly misses: readonly ExplainedMiss[];
}

/** A step that missed, by stage and 1-based position (as StepSummary names it), and every difference found. */
export interface ExplainedMiss {
  readonly stage: number;
  readonly index: number;
  readonly parts: readonly MissPart[];
}

/** Numbers filesystem steps across the build, as `#N [stage k/n]` shows them. */
export function stepRefs(plan: Plan): Map<string, StepRef> {
  const out = new Map<string, StepRef>();
  let n = 0;
  for (const stage of plan.stages) {
    const fs = stage.vertices.filter((v) => v.filesystem);
    fs.forEach((v, i) => {
      out.set(v.id, { id: v.id, number: ++n, stage: stage.index, stageLabel: stage.name ?? `stage-${stage.index}`, position: i + 1, total: fs.length, instruction: v.label });
    });
  }
  return out;
}

export async function solve<S extends SolveState>(plan: Plan, ops: VertexOps<S>, opts: SolveOptions): Promise<SolveResult<S>> {
  const t0 = opts.startedAt ?? nowMs();
  const now = () => Math.round(nowMs() - t0);
  const refs = stepRefs(plan);
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const queue = new PQueue({ concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY });
  const done = new Map<number, S>();
  const running = new Map<number, Promise<S>>();
  const steps: (StepSummary & { number: number })[] = [];
  let firstError: unknown;

  const vertices = new Map<string, Vertex>(plan.stages.flatMap((st) => st.vertices.map((v) => [v.id, v] as const)));
  const baseline = matchBaseline(opts.baseline, refs);
  const missed = new Set<string>();

  // Against the same step of the previous build of this target; without one (a first build, a
  // step moved), against the latest record of the same instruction.
  const misses: ExplainedMiss[] = [];
  const explainMissOf = async (v: LayerVertex, ref: StepRef, key: Sha256, inputs: KeyInputs): Promise<MissReason | undefined> => {
    const parts = await missParts(v, key, inputs);
    if (parts.length) misses.push({ stage: ref.stage, index: ref.position, parts });
    return missReason(parts);
  };
  const missParts = async (v: LayerVertex, key: Sha256, inputs: KeyInputs): Promise<MissPart[]> => {
    const base = baseline.get(v.id);
    if (base === 'new') {
      const line = opts.lineOf?.(v);
      return [{ kind: 'instruction', text: `new step${line !== undefined ? ` (line ${line})` : ''}: ${v.label}` }];
    }
    if (base?.cacheKey === key) return [{ kind: 'removed', text: 'the cached result of this step was removed since the last build (pruned or forgotten)' }];
    const before = (base && (await opts.cache.get(base.cacheKey as Sha256))) || (await opts.cache.previous(inputs.material));
    if (!before) return [];
    const ctx = {
      vertex: v,
      vertices,
      refs,
      missed,
      ...(opts.lineOf ? { lineOf: opts.lineOf } : {}),
      ...(base && before.key === base.cacheKey ? { baseline: base } : {}),
      ...(ops.explain ? { explainOwn: (fields: readonly KeyMaterialField[]) => ops.explain!(v, inputs, before, fields) } : {}),
    };
    return explainAgainst(ctx, inputs.material, before);
  };

  const io = (ref: StepRef): StepIo => ({
    signal: controller.signal,
    log: (stream, line) => opts.emit({ type: 'step-log', step: ref, stream, line, at: now() }),
  });

  const runStage = async (stage: PlanStage): Promise<S> => {
    let state: S | undefined;
    for (const v of stage.vertices) {
      controller.signal.throwIfAborted();
      if (!v.filesystem) {
        state = ops.meta(v, state!);
        continue;
      }
      // Only the stages this step reads have to be finished, and they are waited for outside the
      // queue: a stage whose first steps read nothing runs beside the stages it copies from later.
      for (const e of v.edges) await schedule(stageAt(e.stage));
      controller.signal.throwIfAborted();
      state = await queue.add(() => runVertex(stage, v, state));
    }
    return state!;
  };

  /** One filesystem step of `stage` on the state before it (undefined for FROM): cached or run. */
  const runVertex = async (stage: PlanStage, v: FromVertex | LayerVertex, state: S | undefined): Promise<S> => {
    const ref = refs.get(v.id)!;
    const started = nowMs();
    const record = (key: ParentKey, cached: boolean, miss?: MissReason) => {
      const durationMs = Math.round(nowMs() - started);
      steps.push({ number: ref.number, stage: stage.index, index: ref.position, instruction: ref.instruction, cacheKey: key, cached, durationMs, ...(miss ? { miss } : {}) });
      return durationMs;
    };
    try {
      if (v.kind === 'from') {
        const from = await ops.from(stage, v, done, io(ref));
        opts.emit({ type: 'step-cached', step: ref, key: from.key, durationMs: record(from.key, true), at: now() });
        return from;
      }
      const own = await ops.keyMaterial(v, state!, done);
      const material = withEnvelope(ops.keyFields, state!.key, own.key);
      const inputs: KeyInputs = { material, ...(own.detail !== undefined ? { detail: own.detail } : {}) };
      const key = cacheKey(material);
      const forced = opts.noCache || opts.noCacheStages?.has(stage.index);
      const hit = forced ? undefined : await opts.cache.get(key);
      if (hit) {
        const reused = await ops.reuse(v, state!, hit);
        opts.emit({ type: 'step-cached', step: ref, key, durationMs: record(key, true), at: now() });
        return reused;
      }
      missed.add(v.id);
      const miss: MissReason | undefined = forced
        ? opts.noCache
          ? { kind: 'no-cache', text: '--no-cache' }
          : { kind: 'no-cache-filter', text: `--no-cache-filter ${ref.stageLabel}` }
        : await explainMissOf(v, ref, key, inputs);
      opts.emit({ type: 'step-started', step: ref, at: now(), ...(miss ? { reason: miss.text, miss } : {}) });
      const result = await ops.execute(v, state!, key, done, io(ref));
      const detail = inputs.detail !== undefined ? { detail: inputs.detail } : {};
      await opts.cache.put({ key, layer: result.layer.descriptor, diffId: result.layer.diffId, material, created: result.created ?? isoTime(), ...detail });
      opts.emit({ type: 'step-done', step: ref, key, durationMs: record(key, false, miss), at: now() });
      return result.state;
    } catch (caught) {
      const e = withStep(caught, ref.number);
      // Steps cut short by another failure are not errors of their own.
      if (!controller.signal.aborted) {
        const detail = isUserError(e) ? e.detail : undefined;
        opts.emit({
          type: 'step-error',
          step: ref,
          message: e instanceof Error ? e.message : String(e),
          durationMs: Math.round(nowMs() - started),
          at: now(),
          ...(detail?.exitCode !== undefined ? { exitCode: detail.exitCode } : {}),
          ...(detail?.lastOutput ? { lastOutput: detail.lastOutput } : {}),
        });
      }
      throw e;
    }
  };

  const stageAt = (index: number): PlanStage => plan.stages.find((s) => s.index === index)!;
  const schedule = (stage: PlanStage): Promise<S> => {
    let p = running.get(stage.index);
    if (p) return p;
    p = (async () => {
      const s = await runStage(stage);
      done.set(stage.index, s);
      return s;
    })().catch((e: unknown) => {
      firstError ??= e;
      controller.abort(e);
      throw e;
    });
    running.set(stage.index, p);
    return p;
  };

  try {
    const all = plan.stages.map(schedule);
    await Promise.allSettled(all);
    if (firstError !== undefined) throw firstError;
    steps.sort((a, b) => a.number - b.number);
    misses.sort((a, b) => a.stage - b.stage || a.index - b.index);
    return { target: done.get(plan.target)!, stages: done, steps: steps.map(({ number: _n, ...s }) => s), misses };
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * Which step of the previous build each step is compared with: the one with the same instruction
 * in the same stage (so an inserted line does not shift every comparison), else the one at the
 * same position unless that one moved elsewhere (then the step is new).
 */
function matchBaseline(baseline: readonly BaselineStep[] | undefined, refs: ReadonlyMap<string, StepRef>): Map<string, BaselineStep | 'new'> {
  const out = new Map<string, BaselineStep | 'new'>();
  if (!baseline) return out;
  const current = [...refs.values()];
  for (const ref of current) {
    const same = baseline.filter((b) => b.stage === ref.stage && b.instruction === ref.instruction);
    const exact = same.sort((a, b) => Math.abs(a.index - ref.position) - Math.abs(b.index - ref.position))[0];
    const at = baseline.find((b) => b.stage === ref.stage && b.index === ref.position);
    const moved = at && current.some((c) => c.stage === ref.stage && c.instruction === at.instruction);
    const match = exact ?? (at && !moved ? at : undefined);
    if (match) out.set(ref.id, match);
    else if (baseline.some((b) => b.stage === ref.stage)) out.set(ref.id, 'new');
  }
  return out;
}

/** A full disk is said with the step it stopped (ENOSPC raw, or as the store said it). */
function withStep(e: unknown, step: number): unknown {
  if (e instanceof NoSpaceError) return e.atStep(step);
  if (!isNoSpace(e)) return e;
  return new UserError('build.no-space', `no space left on device in step #${step}: ${(e as Error).message}`, 'free space on that filesystem (`wharf prune` removes what no image uses)');
}
