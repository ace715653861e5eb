import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceFile, error, formatDiagnostic } from '../../src/diag/index.js';

test('a diagnostic names file:line:col, shows the line and a caret under the range', () => {
  const file = new SourceFile('Dockerfile', 'FROM scratch\r\nCOPPY . /app\n');
  const start = file.text.indexOf('COPPY');
  const text = formatDiagnostic(error('syntax.unknown-instruction', 'unknown instruction "COPPY"', file, { start, end: start + 5 }, 'did you mean COPY?'));
  assert.equal(
    text,
    ['Dockerfile:2:1: error: unknown instruction "COPPY"', ' 2 | COPPY . /app', '   | ^^^^^', 'hint: did you mean COPY?'].join('\n'),
  );
});

test('positions count CR, LF and CRLF line ends once each', () => {
  const file = new SourceFile('f', 'a\rb\r\nc\nd');
  assert.deepEqual(file.position(file.text.indexOf('d')), { line: 4, col: 1 });
  assert.equal(file.lineText(2), 'b');
});
