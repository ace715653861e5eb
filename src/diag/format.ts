import type { Diagnostic } from './diagnostic.js';

/**
 * Renders a diagnostic the way compilers do:
 *
 *   Dockerfile:12:5: error: unknown instruction "COPPY"
 *      12 | COPPY . /app
 *         | ^^^^^
 *   hint: did you mean COPY?
 */
/** Source lines longer than this are shown as a window around the caret. */
const MAX_SHOWN = 200;
const BEFORE_CARET = 60;

/**
 * The part of a source line that is printed: all of it when short; else MAX_SHOWN characters
 * around the caret with `…` at the cut ends. A hostile line can be megabytes long, and a
 * diagnostic per flag on it printed it whole each time (gigabytes for one Dockerfile).
 */
function window(text: string, col: number): { text: string; caretAt: number } {
  if (text.length <= MAX_SHOWN) return { text, caretAt: col };
  const from = Math.max(0, Math.min(col - BEFORE_CARET, text.length - MAX_SHOWN));
  const to = Math.min(text.length, from + MAX_SHOWN);
  const head = from > 0 ? '…' : '';
  return { text: head + text.slice(from, to) + (to < text.length ? '…' : ''), caretAt: col - from + head.length };
}

export function formatDiagnostic(d: Diagnostic): string {
  const lines: string[] = [];
  if (d.file && d.range) {
    const start = d.file.position(d.range.start);
    lines.push(`${d.file.name}:${start.line}:${start.col}: ${d.severity}: ${d.message}`);
    const text = d.file.lineText(start.line).replace(/\t/g, ' ');
    const num = String(start.line);
    const pad = ' '.repeat(num.length);
    const end = d.file.position(Math.max(d.range.start, d.range.end - 1));
    const width = end.line === start.line ? Math.max(1, end.col - start.col + 1) : Math.max(1, text.length - start.col + 1);
    const shown = window(text, start.col - 1);
    lines.push(` ${num} | ${shown.text}`);
    const carets = shown.text === text ? Math.min(width, MAX_SHOWN) : Math.max(1, Math.min(width, shown.text.length - shown.caretAt));
    lines.push(` ${pad} | ${' '.repeat(shown.caretAt)}${'^'.repeat(carets)}`);
  } else if (d.file) {
    lines.push(`${d.file.name}: ${d.severity}: ${d.message}`);
  } else {
    lines.push(`${d.severity}: ${d.message}`);
  }
  if (d.hint) lines.push(`hint: ${d.hint}`);
  return lines.join('\n');
}
