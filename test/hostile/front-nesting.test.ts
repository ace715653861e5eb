/**
 * Deep and huge Dockerfiles: `${A:-${A:-…}}` nested a few thousand deep overflowed the stack (all
 * 25 stack traces of an earlier 10,400-run fuzz). Substitutions now nest at most MAX_NESTING deep
 * and deeper ones are a diagnostic with file:line:col and a caret. The other shapes a fuzzer
 * reaches for (long continuation chains, deep JSON arrays, thousands of stages, heredocs, ARGs,
 * mounts, megabyte lines) go through the real `wharf plan` without a stack trace, in bounded time.
 * Two hangs the fuzz campaign and a look at the matcher found are here too: `${A##*a*a*…*b}`
 * backtracked for ever in a RegExp, and a diagnostic per repeated flag printed a 100 KB line each.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandWord } from '../../src/shell/index.js';
import { MAX_NESTING } from '../../src/shell/lexer.js';
import { replacePattern, trimPrefix, trimSuffix } from '../../src/shell/pattern.js';
import { wharfBin } from '../helpers/paths.js';
import { SourceFile } from '../../src/diag/index.js';
import { parseDockerfile } from '../../src/syntax/index.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-front-nesting-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const nested = (n: number) => '${A:-'.repeat(n) + 'v' + '}'.repeat(n);

async function plan(text: string): Promise<{ status: number | null; stderr: string; ms: number }> {
  await writeFile(join(dir, 'Dockerfile'), text);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [wharfBin, '--root', join(dir, 'store'), 'plan', '.'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, ms: performance.now() - t0 };
}

test('substitutions nest up to MAX_NESTING deep; deeper is an error value, never a throw', () => {
  const env = new Map<string, string>();
  const ok = expandWord(nested(MAX_NESTING), env);
  assert.ok(ok.ok);
  assert.equal(ok.value.value, 'v');
  for (const n of [MAX_NESTING + 1, 2000, 50_000]) {
    const r = expandWord(nested(n), env);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'shell.too-deep');
    assert.equal(r.error.message, `substitutions nested more than ${MAX_NESTING} levels deep`);
  }
  // Nesting inside double quotes counts the same.
  const quoted = expandWord('"' + '${A:-"'.repeat(3000) + 'v' + '"}'.repeat(3000) + '"', env);
  assert.ok(!quoted.ok && quoted.error.code === 'shell.too-deep');
});

test('wharf plan: a 3,000-deep ENV value is a diagnostic at file:line:col with a caret', async () => {
  const r = await plan(`FROM scratch\nENV X=${nested(3000)}\n`);
  assert.equal(r.status, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|^\s+at |RangeError/m);
  const [first, source, caret] = r.stderr.split('\n');
  assert.match(first!, /^Dockerfile:2:5: error: failed to process "\$\{A:-\$\{A:-.*… \(18001 characters\)": substitutions nested more than 100 levels deep$/);
  assert.match(source!, /^ 2 \| ENV X=\$\{A:-/);
  assert.match(caret!, /^ {3}\| {5}\^+$/);
});

test('shell patterns with many stars match in bounded time, with the answers a backtracking RegExp gives', () => {
  const value = 'a'.repeat(40);
  const stars = '*a'.repeat(12) + '*b';
  const t0 = performance.now();
  assert.deepEqual(trimPrefix(stars, value, true), { ok: true, value });
  assert.deepEqual(trimSuffix(stars, value, false), { ok: true, value });
  assert.deepEqual(replacePattern(value, stars, 'X', true), { ok: true, value });
  assert.deepEqual(trimPrefix('*a'.repeat(12), value, false), { ok: true, value: 'a'.repeat(28) });
  assert.deepEqual(trimPrefix('*a'.repeat(12), value, true), { ok: true, value: '' });
  assert.deepEqual(replacePattern('xaxbxc', '?x', '[$0]', true), { ok: true, value: 'x[ax][bx]c' });
  assert.ok(performance.now() - t0 < 1000, `took ${Math.round(performance.now() - t0)} ms`);
  // Past the step budget it is an error, not minutes of work.
  const huge = trimPrefix('*a'.repeat(400) + '*b', 'a'.repeat(100_000), true);
  assert.deepEqual(huge, { ok: false, error: 'too complex to match against a value of 100000 characters' });
});

test('wharf plan: ${A##*a*a*…*b} on a long value finishes (it never did)', async () => {
  const r = await plan(`FROM scratch\nENV A=${'a'.repeat(40)}\nENV B=\${A##${'*a'.repeat(12)}*b} C=\${A%%${'a*'.repeat(12)}}\n`);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.ms < 5000, `took ${Math.round(r.ms)} ms`);
});

test('wharf plan: 4,000 repeated flags on one 64 KB line print bounded diagnostics', async () => {
  const text = `FROM scratch\nCOPY ${'--chown=app:app '.repeat(4000)}a /b\n`;
  await writeFile(join(dir, 'Dockerfile'), text);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [wharfBin, '--root', join(dir, 'store'), 'plan', '.'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 30, timeout: 30_000 });
  const ms = performance.now() - t0;
  assert.equal(r.status, 1, r.stderr.slice(0, 500));
  const [first, source, caret] = r.stderr.split('\n');
  assert.equal(first, 'Dockerfile:2:22: error: duplicate flag specified: --chown');
  // A window of the line around the caret, cut ends marked.
  assert.equal(source, ` 2 | ${`COPY ${'--chown=app:app '.repeat(13)}`.slice(0, 200)}…`);
  assert.equal(caret, `   | ${' '.repeat(21)}${'^'.repeat(15)}`);
  assert.ok(r.stderr.length < 4_000_000, `${r.stderr.length} bytes of diagnostics`);
  assert.ok(ms < 10_000, `took ${Math.round(ms)} ms`);
});

test('a line of 10,000 flags parses in linear time (the grammar was quadratic on them)', () => {
  const t0 = performance.now();
  const flags = Array.from({ length: 10_000 }, (_, i) => `--f${i}=x`).join(' ');
  const { ast } = parseDockerfile(new SourceFile('Dockerfile', `FROM scratch\nCOPY ${flags} a /b\n`));
  const ms = performance.now() - t0;
  const copy = ast!.instructions[1]!;
  assert.equal(copy.flags.length, 10_000);
  assert.equal(copy.flags[9_999]!.name, 'f9999');
  assert.ok(ms < 3000, `took ${Math.round(ms)} ms`);
});

const SHAPES: Record<string, string> = {
  'a 20,000-line continuation': `FROM scratch\nRUN echo ${'a \\\n'.repeat(20_000)}b\n`,
  'a 100,000-deep JSON array': `FROM scratch\nRUN ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
  'a 100,000-deep JSON object in a label': `FROM scratch\nLABEL x=${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}\n`,
  '3,000 chained stages': `FROM scratch AS s0\n${Array.from({ length: 2999 }, (_, i) => `FROM s${i} AS s${i + 1}`).join('\n')}\n`,
  '2,000 stages each copying from the one before': `FROM scratch AS s0\n${Array.from({ length: 1999 }, (_, i) => `FROM scratch AS s${i + 1}\nCOPY --from=s${i} /a /a`).join('\n')}\n`,
  '3,000 ARGs each reading the one before': `FROM scratch\n${Array.from({ length: 3000 }, (_, i) => `ARG A${i + 1}=\${A${i}}`).join('\n')}\nRUN echo $A1\n`,
  '500 heredocs on one RUN': `FROM scratch\nRUN ${Array.from({ length: 500 }, (_, i) => `<<E${i}`).join(' ')} cat\n${Array.from({ length: 500 }, (_, i) => `x\nE${i}\n`).join('')}`,
  'an unterminated heredoc of 100,000 lines': `FROM scratch\nRUN <<EOF\n${'line\n'.repeat(100_000)}`,
  '2,000 mounts on one RUN': `FROM scratch\nRUN ${'--mount=type=tmpfs,target=/t '.repeat(2000)}true\n`,
  'a 2 MB line': `FROM scratch\nRUN echo ${'x'.repeat(2_000_000)}\n`,
  '20,000 ENV pairs on one line': `FROM scratch\nENV ${Array.from({ length: 20_000 }, (_, i) => `K${i}=v`).join(' ')}\n`,
  '1,000 nested ONBUILDs': `FROM scratch\nONBUILD ${'ONBUILD '.repeat(1000)}RUN x\n`,
  'NULs, a BOM and invalid UTF-8': `\ufeffFROM scratch\0\nRUN echo \0\xff\n`,
};

for (const [name, text] of Object.entries(SHAPES)) {
  test(`wharf plan survives ${name}`, async () => {
    const r = await plan(text);
    assert.ok(r.status === 0 || r.status === 1, `exit ${r.status}: ${r.stderr.slice(0, 500)}`);
    assert.doesNotMatch(r.stderr, /internal error|^\s+at |RangeError/m, r.stderr.slice(0, 2000));
    if (r.status === 1) assert.match(r.stderr, /error:/);
    assert.ok(r.ms < 10_000, `took ${Math.round(r.ms)} ms`);
  });
}
