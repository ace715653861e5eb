/**
 * The end of a failed build, printed: a step's failure located by the api (api/build-failure.ts,
 * thrown as a StepFailure) as a diagnostic under the RUN's last lines of output; Dockerfile
 * diagnostics; and with --progress json the `diagnostic` and `build-failed` events.
 */
import { formatDiagnostic, type Diagnostic } from '../diag/index.js';
import type { BuildEvent } from '../progress/index.js';
import { isUserError, type UserError } from '../util/index.js';
import { StepFailure } from '../api/index.js';

interface Out {
  write(s: string): unknown;
}

/**
 * The end of a failed build on stderr. `--progress json`: a `build-failed` event, the last line of
 * the stream (internal errors too: nothing but JSON lines goes there). Otherwise a located failure
 * prints as a diagnostic, under a RUN's last lines of output; returns undefined for an error the
 * CLI's own handler prints (`error: …` and hint).
 */
export function reportFailure(out: Out, json: boolean, e: unknown, at: number): number | undefined {
  const located = e instanceof StepFailure ? e.located : undefined;
  if (json) {
    const file = located?.diagnostic.file;
    const pos = file && located.diagnostic.range ? file.position(located.diagnostic.range.start) : undefined;
    const event: BuildEvent = {
      type: 'build-failed',
      code: isUserError(e) ? e.code : 'internal',
      message: located?.diagnostic.message ?? (isUserError(e) ? e.message : `internal error (this is a bug, please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
      ...((located?.diagnostic.hint ?? (isUserError(e) ? e.hint : undefined)) ? { hint: located?.diagnostic.hint ?? (e as UserError).hint! } : {}),
      ...(file && pos ? { file: file.name, line: pos.line, col: pos.col } : {}),
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
 * A parse or plan diagnostic as it comes: the caret form, or with --progress json a `diagnostic`
 * event.
 */
export function reportDiagnostic(out: Out, json: boolean, d: Diagnostic, at: number): void {
  if (!json) {
    out.write(formatDiagnostic(d) + '\n');
    return;
  }
  const pos = d.file && d.range ? d.file.position(d.range.start) : undefined;
  const where = { ...(d.file ? { file: d.file.name } : {}), ...(pos ? { line: pos.line, col: pos.col } : {}) };
  out.write(JSON.stringify({ type: 'diagnostic', severity: d.severity, code: d.code, message: d.message, ...where, ...(d.hint ? { hint: d.hint } : {}), at } satisfies BuildEvent) + '\n');
}

/** A build the Dockerfile's errors stopped: with --progress json, `build-failed` naming the first. */
export function reportDiagnosticsFailed(out: Out, json: boolean, errors: readonly Diagnostic[], at: number): void {
  const first = json ? errors[0] : undefined;
  if (!first) return;
  const pos = first.file && first.range ? first.file.position(first.range.start) : undefined;
  const event: BuildEvent = { type: 'build-failed', code: first.code, message: first.message, ...(first.hint ? { hint: first.hint } : {}), ...(first.file ? { file: first.file.name } : {}), ...(pos ? { line: pos.line, col: pos.col } : {}), at };
  out.write(JSON.stringify(event) + '\n');
}
