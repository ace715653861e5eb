import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../helpers/paths.js';
import { reportConformance } from '../helpers/report.js';
import { PatternMatcher, goClean } from '../../src/context/index.js';
import { Pattern, matchesPatterns } from '../../src/context/patternmatcher.js';
import { readIgnoreLines, parseIgnoreFile } from '../../src/context/ignorefile.js';

const dir = join(conformanceDir, 'dockerignore', 'patternmatcher');
const load = <T>(name: string): T => JSON.parse(readFileSync(join(dir, name), 'utf8')) as T;

interface MatchCase {
  patterns: string[];
  path: string;
  match: boolean;
  error: string | null;
  api: 'Matches' | 'MatchesOrParentMatches';
  platform: string;
}

test('moby/patternmatcher cases: Matches and MatchesOrParentMatches', () => {
  const { cases } = load<{ cases: MatchCase[] }>('patternmatcher_cases.json');
  const failures: string[] = [];
  for (const c of cases) {
    let got: boolean | 'error';
    if (c.api === 'Matches') {
      const r = matchesPatterns(c.path, c.patterns);
      got = r.ok ? r.value : 'error';
    } else {
      const pm = PatternMatcher.create(c.patterns);
      got = pm.ok ? pm.value.matchesOrParentMatches(c.path) : 'error';
    }
    const want = c.error ? 'error' : c.match;
    if (got !== want) failures.push(`${c.api} ${JSON.stringify(c.patterns)} ${JSON.stringify(c.path)}: got ${got}, want ${want}`);
  }
  reportConformance('dockerignore/patternmatcher', cases.length - failures.length, cases.length);
  assert.deepEqual(failures, []);
});

test('moby/patternmatcher compile cases: match type and regexp', () => {
  const { cases } = load<{ cases: { pattern: string; matchType: string; regexp: string }[] }>('compile_cases.json');
  const failures: string[] = [];
  for (const c of cases) {
    const p = Pattern.compile(goClean(c.pattern), false);
    if (!p) {
      failures.push(`${c.pattern}: did not compile`);
      continue;
    }
    const regexp = p.matchType === 'regexpMatch' ? p.goRegexp : '';
    if (p.matchType !== c.matchType || regexp !== c.regexp) failures.push(`${c.pattern}: got ${p.matchType} ${regexp}, want ${c.matchType} ${c.regexp}`);
  }
  reportConformance('dockerignore/compile', cases.length - failures.length, cases.length);
  assert.deepEqual(failures, []);
});

test('moby/patternmatcher ignorefile cases: reading .dockerignore lines', () => {
  const { cases } = load<{ cases: { content: string; expected: string[] }[] }>('ignorefile_cases.json');
  let passed = 0;
  for (const c of cases) {
    const got = readIgnoreLines(c.content).map((l) => l.pattern);
    assert.deepEqual(got, c.expected);
    passed++;
  }
  reportConformance('dockerignore/ignorefile', passed, cases.length);
});

test('ignore file lines: CRLF, BOM, comments only in column 0, line numbers kept', () => {
  const lines = readIgnoreLines('\uFEFF# c\r\n  # not a comment\r\n\r\n/abs/../x/\n!  ./y\n');
  assert.deepEqual(lines, [
    { pattern: '# not a comment', line: 2 },
    { pattern: 'x', line: 4 },
    { pattern: '!y', line: 5 },
  ]);
});

test('a bad .dockerignore pattern is reported with its file, line and text', () => {
  const r = parseIgnoreFile('.dockerignore', 'node_modules\n\n*.log\nsrc/[a-\n');
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.error.line, 4);
  assert.equal(r.error.pattern, 'src/[a-');
  assert.match(r.error.message, /^\.dockerignore:4: invalid pattern "src\/\[a-"/);
  const bang = parseIgnoreFile('.dockerignore', 'a\n!\n');
  assert.equal(bang.ok, false);
  if (!bang.ok) assert.equal(bang.error.code, 'context.illegal-exclusion');
});
