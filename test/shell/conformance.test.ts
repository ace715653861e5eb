import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../helpers/paths.js';
import { reportConformance } from '../helpers/report.js';
import { envFromList, expandWord, expandWords } from '../../src/shell/index.js';

const dir = join(conformanceDir, 'buildkit');
const cases = JSON.parse(readFileSync(join(dir, 'shell_cases.json'), 'utf8')) as {
  wordsTest: { cases: { line: number; input: string; envs: string[]; expected: string[] | null; expectError: boolean }[] };
  TestProcessWithMatches: {
    cases: { input: string; envs: Record<string, string> | string[]; expected: string; expectedErr: boolean; matches: string[]; unmatched: string[] }[];
  };
  TestShellParserMandatoryEnvVars: { cases: { input: string; envs: string[]; expected?: string; errorContains?: string }[] };
  TestProcessWithMatchesPlatform: { input: string; cases: { envs: Record<string, string>; expected: string }[] };
};

test('envVarTest: every A and U line expands as BuildKit expects', () => {
  const env = new Map([
    ['PWD', '/home'],
    ['SHELL', 'bash'],
    ['KOREAN', '한국어'],
    ['NULL', ''],
  ]);
  const failures: string[] = [];
  let total = 0;
  for (const raw of readFileSync(join(dir, 'shell', 'envVarTest'), 'utf8').split('\n')) {
    if (raw.startsWith('#') || raw.trim() === '') continue;
    const fields = raw.split('|').map((f) => f.trim());
    assert.equal(fields.length, 3, `malformed line ${raw}`);
    const [platform, input, expected] = fields as [string, string, string];
    if (platform === 'W') continue;
    total++;
    const r = expandWord(input, env);
    if (expected === 'error') {
      if (r.ok) failures.push(`${input}: expected error, got ${JSON.stringify(r.value.value)}`);
    } else if (!r.ok) failures.push(`${input}: ${r.error.message}`);
    else if (r.value.value !== expected) failures.push(`${input}: got ${JSON.stringify(r.value.value)}, want ${JSON.stringify(expected)}`);
  }
  reportConformance('buildkit shell/envVarTest (A+U)', total - failures.length, total);
  assert.equal(total, 228);
  assert.deepEqual(failures, []);
});

test('wordsTest: word splitting', () => {
  const failures: string[] = [];
  for (const c of cases.wordsTest.cases) {
    const r = expandWords(c.input, envFromList(c.envs));
    if (c.expectError || c.expected === null) {
      if (r.ok) failures.push(`${c.line}: expected error`);
    } else if (!r.ok) failures.push(`${c.line}: ${r.error.message}`);
    else if (JSON.stringify(r.value.words) !== JSON.stringify(c.expected)) failures.push(`${c.line}: got ${JSON.stringify(r.value.words)}`);
  }
  reportConformance('buildkit shell/wordsTest', cases.wordsTest.cases.length - failures.length, cases.wordsTest.cases.length);
  assert.deepEqual(failures, []);
});

const toEnv = (e: Record<string, string> | string[]): Map<string, string> =>
  Array.isArray(e) ? envFromList(e) : new Map(Object.entries(e));

test('pattern and modifier cases report the names used and unset', () => {
  const failures: string[] = [];
  const all = cases.TestProcessWithMatches.cases;
  for (const c of all) {
    const r = expandWord(c.input, toEnv(c.envs));
    if (c.expectedErr) {
      if (r.ok) failures.push(`${c.input}: expected error`);
      continue;
    }
    if (!r.ok) {
      failures.push(`${c.input}: ${r.error.message}`);
      continue;
    }
    const got = { value: r.value.value, used: [...r.value.used].sort(), unset: [...r.value.unset].sort() };
    const want = { value: c.expected, used: [...c.matches].sort(), unset: [...c.unmatched].sort() };
    if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${c.input}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
  }
  reportConformance('buildkit shell TestProcessWithMatches', all.length - failures.length, all.length);
  assert.deepEqual(failures, []);
});

test('required-variable and platform cases', () => {
  const failures: string[] = [];
  const mandatory = cases.TestShellParserMandatoryEnvVars.cases;
  for (const c of mandatory) {
    const r = expandWord(c.input, envFromList(c.envs));
    if (c.errorContains !== undefined) {
      if (r.ok || !r.error.message.includes(c.errorContains)) failures.push(`${c.input} ${c.envs.join(' ')}: want error ${c.errorContains}`);
    } else if (!r.ok || r.value.value !== c.expected) failures.push(`${c.input} ${c.envs.join(' ')}: want ${c.expected}`);
  }
  const plat = cases.TestProcessWithMatchesPlatform;
  for (const c of plat.cases) {
    const r = expandWord(plat.input, toEnv(c.envs));
    if (!r.ok || r.value.value !== c.expected) failures.push(`${plat.input}: want ${c.expected}`);
  }
  const total = mandatory.length + plat.cases.length;
  reportConformance('buildkit shell required+platform', total - failures.length, total);
  assert.deepEqual(failures, []);
});

test('a backtick escape character escapes like a backslash does', () => {
  const env = new Map([['A', 'x']]);
  const r = expandWord('`$A-$A `"q', env, { escape: '`' });
  assert.ok(r.ok);
  assert.equal(r.value.value, '$A-x "q');
  const words = expandWords('a` b c', env, { escape: '`' });
  assert.ok(words.ok);
  assert.deepEqual(words.value.words, ['a b', 'c']);
});

test('replacement of every match skips an empty match right after a match, as Go does', () => {
  const r = expandWord('${V//*/-}', new Map([['V', 'abc']]));
  assert.ok(r.ok);
  assert.equal(r.value.value, '-');
});

test('skipQuotes expands $ and leaves quotes as written (heredoc bodies)', () => {
  const r = expandWord(`say "$A" '$A' \\$A`, new Map([['A', 'x']]), { skipQuotes: true });
  assert.ok(r.ok);
  assert.equal(r.value.value, `say "x" 'x' $A`);
});
