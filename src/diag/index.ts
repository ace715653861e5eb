/**
 * diag: source files with ranges (offsets; line/col computed when asked), diagnostics
 * {code, message, range, hint}, the printer with a caret line, and "did you mean" suggestions.
 */
export { SourceFile, type Range } from './source.js';
export { error, warning, hasErrors, DiagnosticError, type Diagnostic } from './diagnostic.js';
export { formatDiagnostic } from './format.js';
export { editDistance } from './suggest.js';
