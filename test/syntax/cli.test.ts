import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conformanceDir, wharfBin } from '../helpers/paths.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-parse-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const wharf = (args: string[], input?: string) => spawnSync(process.execPath, [wharfBin, ...args], { cwd: dir, input, encoding: 'utf8' });

test('wharf parse --format buildkit prints exactly BuildKit\'s golden result', () => {
  const golden = join(conformanceDir, 'buildkit', 'testfiles', 'lk4d4-the-edge-case-generator');
  const r = wharf(['parse', '-f', join(golden, 'Dockerfile'), '--format', 'buildkit']);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.equal(r.stdout, readFileSync(join(golden, 'result'), 'utf8'));
});

test('wharf parse reads ./Dockerfile by default and - from stdin; json has line/col ranges', () => {
  writeFileSync(join(dir, 'Dockerfile'), 'FROM alpine\nRUN echo hi\n');
  const r = wharf(['parse']);
  assert.equal(r.status, 0, r.stderr);
  const ast = JSON.parse(r.stdout) as { file: string; instructions: { keyword: string; keywordRange: { start: { line: number; col: number } } }[] };
  assert.equal(ast.file, 'Dockerfile');
  assert.deepEqual(ast.instructions.map((i) => i.keyword), ['FROM', 'RUN']);
  assert.deepEqual(ast.instructions[1]!.keywordRange.start, { offset: 12, line: 2, col: 1 });
  const s = wharf(['parse', '-f', '-', '--format', 'buildkit'], 'FROM a\nCMD ["x"]\n');
  assert.equal(s.stdout, '(from "a")\n(cmd "x")\n');
});

test('wharf parse on a bad file: caret diagnostics on stderr, exit code 1', () => {
  writeFileSync(join(dir, 'bad.Dockerfile'), 'FROM alpine\n\nCOPPY . /app\n');
  const r = wharf(['parse', '-f', 'bad.Dockerfile']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, ['bad.Dockerfile:3:1: error: unknown instruction: COPPY', ' 3 | COPPY . /app', '   | ^^^^^', 'hint: did you mean COPY?', ''].join('\n'));
  const u = wharf(['parse', '-f', '-'], 'FROM a\nRUN <<EOF\nnever ends\n');
  assert.equal(u.status, 1);
  assert.match(u.stderr, /^Dockerfile:2:5: error: unterminated heredoc EOF\n/);
});
