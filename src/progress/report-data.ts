/**
 * What the HTML report draws, gathered from a build's events: the graph (`build-graph`), each
 * step's outcome and times, the context counters and how the build ended. Plain data, so a build
 * can write it as JSON and `wharf bench` can draw several runs in one report.
 */
import type { BuildEvent, ContextReport, EventSink, GraphStage, MissReason } from './events.js';

export type StepOutcome = 'cached' | 'executed' | 'failed' | 'cancelled' | 'not-run';

export interface ReportStep {
  readonly outcome: StepOutcome;
  /** ms since the build began; absent for a step that never started. */
  readonly start?: number;
  readonly end?: number;
  readonly miss?: MissReason;
  /** A failed step's error (first line) and RUN exit status. */
  readonly error?: string;
  readonly exitCode?: number;
}

export interface BuildRecord {
  /** `build`, or the run's label in a benchmark (`run 2/5`). */
  readonly label: string;
  readonly graph: readonly GraphStage[];
  /** By step id (`s1v2`). */
  readonly steps: Readonly<Record<string, ReportStep>>;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly context?: ContextReport;
  /** How a failed build ended, as the CLI printed it. */
  readonly failure?: string;
  readonly imageId?: string;
}

export interface ReportCollector {
  readonly sink: EventSink;
  /** The record so far; `failure` for a build that ended with an error no event carried (a diagnostic, a push). */
  record(label: string, failure?: string): BuildRecord;
}

export function reportCollector(): ReportCollector {
  let graph: readonly GraphStage[] = [];
  const steps = new Map<string, ReportStep>();
  let last = 0;
  let done: Extract<BuildEvent, { type: 'build-done' }> | undefined;
  let failed: string | undefined;
  const set = (id: string, s: ReportStep) => steps.set(id, s);
  const sink: EventSink = (e) => {
    // `pushed` has no time: it is the object `wharf push --progress json` prints.
    if ('at' in e) last = Math.max(last, e.at);
    switch (e.type) {
      case 'build-graph':
        graph = e.stages;
        break;
      case 'step-started':
        set(e.step.id, { outcome: 'cancelled', start: e.at, ...(e.miss ? { miss: e.miss } : {}) });
        break;
      case 'step-cached':
        set(e.step.id, { outcome: 'cached', start: e.at - (e.durationMs ?? 0), end: e.at });
        break;
      case 'step-done': {
        const before = steps.get(e.step.id);
        set(e.step.id, { ...before, outcome: 'executed', start: e.at - e.durationMs, end: e.at });
        break;
      }
      case 'step-error': {
        const before = steps.get(e.step.id);
        const error = e.message.split('\n')[0]!;
        set(e.step.id, { ...before, outcome: 'failed', start: e.at - e.durationMs, end: e.at, error, ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}) });
        break;
      }
      case 'build-failed':
        failed = e.message.split('\n')[0]!;
        break;
      case 'build-done':
        done = e;
        break;
      default:
        break;
    }
  };
  return {
    sink,
    record(label, failure) {
      const out: Record<string, ReportStep> = {};
      for (const st of graph) for (const s of st.steps) out[s.id] = settle(steps.get(s.id), last);
      const why = failure ?? failed;
      return {
        label,
        graph,
        steps: out,
        ok: done !== undefined && why === undefined,
        durationMs: done?.durationMs ?? last,
        ...(done?.context ? { context: done.context } : {}),
        ...(done === undefined || why !== undefined ? { failure: why ?? 'the build did not finish' } : {}),
        ...(done ? { imageId: done.imageId } : {}),
      };
    },
  };
}

/** A step that started but never ended was cut short (another step failed) at the build's end. */
function settle(s: ReportStep | undefined, last: number): ReportStep {
  if (!s) return { outcome: 'not-run' };
  if (s.outcome === 'cancelled' && s.end === undefined) return { ...s, end: last };
  return s;
}
