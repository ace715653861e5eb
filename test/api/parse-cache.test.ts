// Kept parses (src/api/parse-cache.ts): what a build reads back must be what parsing gives, for
// every Dockerfile of BuildKit's parser corpus and the examples; what JSON cannot hold exactly is
// never kept; a kept file that names another text, or is torn, is parsed again (one that is not a
// regular file: test/hostile/parse-cache.test.ts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SourceFile } from '../../src/diag/index.js';
import { parseDockerfile } from '../../src/syntax/index.js';
import { encodeExact, parseDockerfileKept, revive } from '../../src/api/parse-cache.js';
import { conformanceDir, projectRoot } from '../helpers/paths.js';
import { keptFileOf, written } from '../helpers/kept-parse.js';

const tmp = mkdtempSync(join(tmpdir(), 'wharf-parse-cache-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function corpus(): [string, string][] {
  const out: [string, string][] = [];
  const testfiles = join(conformanceDir, 'buildkit', 'testfiles');
  for (const c of readdirSync(testfiles).sort()) out.push([`buildkit/${c}`, readFileSync(join(testfiles, c, 'Dockerfile'), 'utf8')]);
  const cases = JSON.parse(readFileSync(join(conformanceDir, 'buildkit', 'heredoc_and_instruction_cases.json'), 'utf8')) as Record<string, { dockerfile?: string }>;
  for (const [name, c] of Object.entries(cases)) if (typeof c.dockerfile === 'string') out.push([`heredoc/${name}`, c.dockerfile]);
  for (const e of readdirSync(join(projectRoot, 'examples'))) {
    const f = join(projectRoot, 'examples', e, 'Dockerfile');
    if (existsSync(f)) out.push([`examples/${e}`, readFileSync(f, 'utf8')]);
  }
  out.push(['onbuild, escape and warnings', '# escape=`\nFROM busybox\nMAINTAINER me\nONBUILD --flag=x RUN echo `\n  hi\nCMD ["sh", "-c", "x"]\nHEALTHCHECK --interval=5s CMD true\n']);
  return out;
}

test('every corpus Dockerfile comes back from the kept file equal to a fresh parse, undefined properties included', async () => {
  const files = corpus();
  assert.ok(files.length >= 40, `corpus of ${files.length}`);
  let kept = 0;
  for (const [i, [name, text]] of files.entries()) {
    const dir = join(tmp, 'corpus', String(i));
    const file = new SourceFile('Dockerfile', text);
    const fresh = parseDockerfile(file);
    const first = parseDockerfileKept(file, dir);
    assert.deepStrictEqual(first, fresh, name);
    if (!fresh.ast) continue;
    await written();
    assert.equal(readdirSync(dir).length, 1, `${name}: one file kept`);
    const again = parseDockerfileKept(new SourceFile('Dockerfile', text), dir);
    // deepStrictEqual compares the SourceFile too: the kept parse gets the caller's back.
    assert.deepStrictEqual(again, parseDockerfile(new SourceFile('Dockerfile', text)), name);
    kept++;
  }
  assert.ok(kept >= 38, `${kept} parses kept`);
});

test('the kept file is what a build reads: the parse is not run again for the same name and text', async () => {
  const dir = join(tmp, 'read');
  const file = new SourceFile('Dockerfile', 'FROM busybox\n# a comment\nRUN true\n');
  const path = await keptFileOf(dir, file.text);
  const name = basename(path);
  // A kept result changed on disk (same id) comes back as written: proof that it was read.
  writeFileSync(path, readFileSync(path, 'utf8').replace('" a comment"', '" kept"'));
  const read = parseDockerfileKept(new SourceFile('Dockerfile', file.text), dir);
  assert.equal(read.ast?.comments[0]?.text, ' kept');
  // Another text under the same name is parsed, and replaces the kept file (one per name).
  const other = new SourceFile('Dockerfile', 'FROM busybox\n# another\n');
  assert.equal(parseDockerfileKept(other, dir).ast?.comments[0]?.text, ' another');
  await written();
  assert.deepEqual(readdirSync(dir), [name]);
  assert.match(readFileSync(path, 'utf8'), /another/);
  // Another name keeps a file of its own: names may show in what the parse says.
  parseDockerfileKept(new SourceFile('app/Dockerfile', other.text), dir);
  await written();
  assert.equal(readdirSync(dir).length, 2);
});

test('a torn, foreign or unreadable kept file is a miss, never an error', async () => {
  const dir = join(tmp, 'torn');
  const text = 'FROM busybox\nRUN echo hi\n';
  const path = await keptFileOf(dir, text);
  const id = (JSON.parse(readFileSync(path, 'utf8')) as { id: string }).id;
  const torn = ['{"id":', 'null', '[]', '{"id":"sha256:00","result":{}}', '\u0000\u0001'];
  // The right id with something else than a parse under it.
  const foreign = [5, null, {}, { diagnostics: [] }, { diagnostics: [], ast: { instructions: 'x' } }].map((result) => JSON.stringify({ id, result }));
  for (const content of [...torn, ...foreign]) {
    writeFileSync(path, content);
    const read = parseDockerfileKept(new SourceFile('Dockerfile', text), dir);
    assert.deepStrictEqual(read, parseDockerfile(new SourceFile('Dockerfile', text)), JSON.stringify(content));
    await written();
  }
});

test('encodeExact keeps undefined and the SourceFile, and refuses what JSON would change', () => {
  const file = new SourceFile('Dockerfile', 'FROM x\n');
  const value = { a: undefined, b: [1, undefined, 'x'], c: { file, n: null, t: true } };
  const text = encodeExact(value, file);
  assert.ok(text);
  assert.deepStrictEqual(revive(JSON.parse(text), file), value);
  // Objects and arrays of primitives (ranges, empty lists) may be shared; they come back as equal copies.
  const range = { start: 1, end: 2 };
  const none: number[] = [];
  const sharing = { a: { range, none }, b: { range, none } };
  assert.deepStrictEqual(revive(JSON.parse(encodeExact(sharing, file)!), file), sharing);
  const shared = { x: { y: 1 } };
  class Node {
    x = 1;
  }
  const refused: [string, unknown][] = [
    ['a Map', { m: new Map() }],
    ['a class instance', { n: new Node() }],
    ['an object reached twice', { a: shared, b: shared }],
    ['an array of objects reached twice', ((l) => ({ a: l, b: l }))([{ y: 1 }])],
    ['NaN', { n: Number.NaN }],
    ['-0', { n: -0 }],
    ['a function', { f: () => 1 }],
    ['a symbol key', { [Symbol('s')]: 1 }],
    ['a sparse array', { a: [1, , 3] }],
    ['an object with the marker key', { o: { '\u0000': 'u' } }],
    ['a bigint', { b: 1n }],
    ['another SourceFile', { f: new SourceFile('other', '') }],
  ];
  for (const [what, v] of refused) assert.equal(encodeExact(v, file), undefined, what);
});
