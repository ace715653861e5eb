/**
 * A build step's failure, said the way parse errors are: `Dockerfile:L:C`, the instruction's line,
 * a caret under the word at fault and a hint. The solver reports which step failed (its
 * step-error event); this finds the step's instruction in the plan and the word the error is about.
 *
 *   const f = failureLocator(file)
 *   emit = f.watch(emit)        // step-error events gain their Dockerfile line
 *   f.setPlan(plan)
 *   f.diagnose(error)           // → Diagnostic (undefined: not a step's user error)
 */
import { editDistance, error as diagError, formatDiagnostic, type Diagnostic, type Range, type SourceFile } from '../diag/index.js';
import type { Plan, Vertex } from '../plan/index.js';
import type { BuildEvent, StepRef } from '../progress/index.js';
import { isUserError, type UserError } from '../util/index.js';

export interface FailureLocator {
  readonly file: SourceFile;
  /** Wraps a build's sink: notes the first failed step and adds `line` to step-error events. */
  watch(emit: (e: BuildEvent) => void): (e: BuildEvent) => void;
  setPlan(plan: Plan): void;
  /** The failure as a diagnostic pointing into the Dockerfile, when a step's user error caused it. */
  diagnose(e: unknown): LocatedFailure | undefined;
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

interface Out {
  write(s: string): unknown;
}

/**
 * The end of a failed build on stderr. `--progress json`: a `build-failed` event, the last line of
 * the stream (internal errors too: nothing but JSON lines goes there). Otherwise a located failure
 * prints as a diagnostic, under a RUN's last lines of output; returns undefined for an error the
 * CLI's own handler prints (`error: …` and hint).
 */
export function reportFailure(out: Out, json: boolean, failure: FailureLocator, e: unknown, at: number): number | undefined {
  const located = failure.diagnose(e);
  if (json) {
    const pos = located?.diagnostic.range ? failure.file.position(located.diagnostic.range.start) : undefined;
    const event: BuildEvent = {
      type: 'build-failed',
      code: isUserError(e) ? e.code : 'internal',
      message: located?.diagnostic.message ?? (isUserError(e) ? e.message : `internal error (this is a bug, please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
      ...((located?.diagnostic.hint ?? (isUserError(e) ? e.hint : undefined)) ? { hint: located?.diagnostic.hint ?? (e as UserError).hint! } : {}),
      ...(pos ? { file: failure.file.name, line: pos.line, col: pos.col } : {}),
      ...(located ? { step: located.step.number } : {}),
      ...(located?.exitCode !== undefined ? { exitCode: located.exitCode } : {}),
      at,
    };
    out.write(JSON.stringify(event) + '\n');
    return 1;
  }
  if (!located) return undefined;
  if (located.lastOutput.length) {
    out.write(`> [${located.step.stageLabel} ${located.step.position}/${located.step.total}] last output:\n`);
    for (const l of located.lastOutput) out.write(`  ${l}\n`);
  }
  out.write(formatDiagnostic(located.diagnostic) + '\n');
  return 1;
}

/**
 * Parse and plan diagnostics. With --progress json each is a `diagnostic` event, and a build they
 * stop ends with `build-failed` naming the first error.
 */
export function reportDiagnostics(out: Out, json: boolean, diags: readonly Diagnostic[], at: number): void {
  for (const d of diags) {
    if (!json) {
      out.write(formatDiagnostic(d) + '\n');
      continue;
    }
    const pos = d.file && d.range ? d.file.position(d.range.start) : undefined;
    const where = { ...(d.file ? { file: d.file.name } : {}), ...(pos ? { line: pos.line, col: pos.col } : {}) };
    out.write(JSON.stringify({ type: 'diagnostic', severity: d.severity, code: d.code, message: d.message, ...where, ...(d.hint ? { hint: d.hint } : {}), at } satisfies BuildEvent) + '\n');
  }
  const first = json ? diags.find((d) => d.severity === 'error') : undefined;
  if (first) {
    const pos = first.file && first.range ? first.file.position(first.range.start) : undefined;
    const event: BuildEvent = { type: 'build-failed', code: first.code, message: first.message, ...(first.hint ? { hint: first.hint } : {}), ...(first.file ? { file: first.file.name } : {}), ...(pos ? { line: pos.line, col: pos.col } : {}), at };
    out.write(JSON.stringify(event) + '\n');
  }
}
