import type { Diagnostic } from './diagnostic.js';

/**
 * Renders a diagnostic the way compilers do:
 *
 *   Dockerfile:12:5: error: unknown instruction "COPPY"
 *      12 | COPPY . /app
 *         | ^^^^^
 *   hint: did you mean COPY?
 */
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
    lines.push(` ${num} | ${text}`);
    lines.push(` ${pad} | ${' '.repeat(start.col - 1)}${'^'.repeat(Math.min(width, 200))}`);
  } else if (d.file) {
    lines.push(`${d.file.name}: ${d.severity}: ${d.message}`);
  } else {
    lines.push(`${d.severity}: ${d.message}`);
  }
  if (d.hint) lines.push(`hint: ${d.hint}`);
  return lines.join('\n');
}
