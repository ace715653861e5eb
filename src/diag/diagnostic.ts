import type { Range, SourceFile } from './source.js';

export type Severity = 'error' | 'warning';

/** Something to tell the user about their input, pointing at where it is. */
export interface Diagnostic {
  readonly severity: Severity;
  /** Stable identifier, e.g. `syntax.unknown-instruction`, `lint.maintainer-deprecated`. */
  readonly code: string;
  readonly message: string;
  readonly file?: SourceFile;
  readonly range?: Range;
  /** How to fix it ("did you mean COPY?"). */
  readonly hint?: string;
}

export function error(code: string, message: string, file?: SourceFile, range?: Range, hint?: string): Diagnostic {
  return { severity: 'error', code, message, file, range, hint };
}

export function warning(code: string, message: string, file?: SourceFile, range?: Range, hint?: string): Diagnostic {
  return { severity: 'warning', code, message, file, range, hint };
}

export const hasErrors = (ds: readonly Diagnostic[]): boolean => ds.some((d) => d.severity === 'error');

/**
 * Thrown (only) to carry diagnostics across layers that cannot return them, e.g. out of a nearley
 * postprocessor; caught at the module boundary and turned back into values.
 */
export class DiagnosticError extends Error {
  override readonly name = 'DiagnosticError';
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join('; '));
  }
}
