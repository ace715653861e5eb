/**
 * A build step's failure, said the way parse errors are: `Dockerfile:L:C`, the instruction's line,
 * a caret under the word at fault and a hint. The solver reports which step failed (its
 * step-error event); this finds the step's instruction in the plan and the word the error is about.
 * `build` throws the result as a StepFailure, so every caller (the CLI, the server, a library
 * user) gets the located form; printing it is theirs.
 *
 *   const f = failureLocator(file)
 *   emit = f.watch(emit)        // step-error events gain their Dockerfile line
 *   f.setPlan(plan)
 *   f.diagnose(error)           // → LocatedFailure (undefined: not a step's user error)
 */
import { editDistance, error as diagError, type Diagnostic, type Range, type SourceFile } from '../diag/index.js';
import type { Plan, Vertex } from '../plan/index.js';
import type { BuildEvent, StepRef } from '../progress/index.js';
import { isUserError, UserError } from '../util/index.js';

export interface FailureLocator {
  readonly file: SourceFile;
  /** Wraps a build's sink: notes the first failed step and adds `line` to step-error events. */
  watch(emit: (e: BuildEvent) => void): (e: BuildEvent) => void;
  setPlan(plan: Plan): void;
  /** The failure as a diagnostic pointing into the Dockerfile, when a step's user error caused it. */
  diagnose(e: unknown): LocatedFailure | undefined;
}

/**
 * A step's UserError, located: code, message, hint and detail are the step's own (so callers that
 * match on them see no difference); `located` says where in the Dockerfile, and how to say it.
 */
export class StepFailure extends UserError {
  constructor(
    readonly original: UserError,
    readonly located: LocatedFailure,
  ) {
    super(original.code, original.message, original.hint, original.detail);
  }
}

export interface LocatedFailure {
  readonly diagnostic: Diagnostic;
  /** The failed RUN's last lines of output (printed above the diagnostic, as BuildKit does). */
  readonly lastOutput: readonly string[];
  readonly step: StepRef;
  readonly exitCode?: number;
}

export function failureLocator(file: SourceFile): FailureLocator {
  let plan: Plan | undefined;
  let failed: StepRef | undefined;
  const vertexOf = (step: StepRef): Vertex | undefined => plan?.stages.find((s) => s.index === step.stage)?.vertices.find((v) => v.id === step.id);
  // Steps from a base image's ONBUILD triggers were parsed from its config, not from this file.
  const located = (v: Vertex | undefined): v is Vertex => v !== undefined && !v.label.startsWith('[onbuild]');
  return {
    file,
    watch: (emit) => (e) => {
      if (e.type !== 'step-error') return emit(e);
      failed ??= e.step;
      const v = vertexOf(e.step);
      emit(located(v) ? { ...e, line: file.position(v.instruction.node.range.start).line } : e);
    },
    setPlan: (p) => void (plan = p),
    diagnose(e) {
      if (!failed || !isUserError(e)) return undefined;
      const v = vertexOf(failed);
      if (!located(v) || !plan) return undefined;
      const d = describe(e, v, plan, file);
      return { diagnostic: diagError(e.code, d.message, file, d.range, d.hint), lastOutput: e.detail?.lastOutput ?? [], step: failed, ...(e.detail?.exitCode !== undefined ? { exitCode: e.detail.exitCode } : {}) };
    },
  };
}

interface Description {
  readonly message: string;
  readonly range: Range;
  readonly hint?: string;
}

function describe(e: UserError, v: Vertex, plan: Plan, file: SourceFile): Description {
  const whole = firstLine(v.instruction.node.range, file);
  const subject = e.detail?.subject;
  if (e.detail?.exitCode !== undefined) {
    return { message: e.message, range: whole, hint: e.hint ?? runHint(e.detail.exitCode) };
  }
  if (v.kind === 'from' && subject !== undefined) {
    const word = v.instruction.image;
    const stage = nearStage(subject, plan);
    return {
      message: `base image ${JSON.stringify(subject)} not found: ${e.message.replace(`pulling ${subject}: `, '')}`,
      range: word.range,
      hint: stage ? `did you mean the stage ${JSON.stringify(stage)}?` : (e.hint ?? 'check the image name and tag (`wharf images` lists the local ones)'),
    };
  }
  if ((v.kind === 'copy' || v.kind === 'add') && subject !== undefined) {
    const from = v.instruction.from;
    if (from && from.value === subject) {
      const stage = nearStage(subject, plan);
      return stage
        ? { message: `--from=${subject}: no stage is named ${JSON.stringify(subject)}, and no image of that name could be pulled (${e.message.replace(`pulling ${subject}: `, '')})`, range: from.range, hint: `did you mean --from=${stage}?` }
        : { message: e.message, range: from.range, ...(e.hint ? { hint: e.hint } : {}) };
    }
    const src = v.instruction.sources.find((w) => w.value === subject);
    if (src) return { message: e.message, range: src.range, ...(e.hint ? { hint: e.hint } : {}) };
  }
  return { message: e.message, range: whole, ...(e.hint ? { hint: e.hint } : {}) };
}

/** A stage name a few edits from `name` (a typo in --from= or FROM), if one is. */
function nearStage(name: string, plan: Plan): string | undefined {
  if (/[/:@]/.test(name)) return undefined;
  let best: [number, string] | undefined;
  for (const s of plan.allStageNames) {
    if (!s || s === name) continue;
    const d = editDistance(name.toLowerCase(), s);
    if (d <= 2 && d < s.length && (!best || d < best[0])) best = [d, s];
  }
  return best?.[1];
}

/** The instruction's first line: a caret under a whole heredoc or continued RUN says nothing more. */
function firstLine(range: Range, file: SourceFile): Range {
  const at = file.position(range.start);
  const lineEnd = range.start - (at.col - 1) + file.lineText(at.line).length;
  return { start: range.start, end: Math.max(range.start + 1, Math.min(range.end, lineEnd)) };
}

function runHint(code: number): string {
  if (code === 127) return 'exit code 127: the shell did not find the command; install it in an earlier step or check its name and PATH';
  if (code === 126) return 'exit code 126: the command is not executable (check its mode and interpreter line)';
  if (code === 137) return 'exit code 137: the process was killed (out of memory, or --memory too low?)';
  return 'the command itself failed; its last lines of output are above (`--progress plain` shows all of it)';
}

