// scripts/lint-layers.mjs (`npm run lint`): it must fail on each kind of bad import, at the right
// file:line, and pass on the real tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { projectRoot } from '../helpers/paths.js';

const script = join(projectRoot, 'scripts', 'lint-layers.mjs');
const lint = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

/** A fake src/ tree: util and store modules with an index each, and the given extra files. */
function fakeTree(files: Record<string, string>): { src: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-lint-'));
  const src = join(dir, 'src');
  const all: Record<string, string> = {
    'util/index.ts': "export { a } from './a.js';\n",
    'util/a.ts': 'export const a = 1;\n',
    'store/index.ts': "export { s } from './s.js';\n",
    'store/s.ts': "import { a } from '../util/index.js';\nexport const s = a;\n",
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(src, path)), { recursive: true });
    writeFileSync(join(src, path), text);
  }
  return { src, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('the lint passes on a tree whose imports point down, through index.ts, without cycles', () => {
  const t = fakeTree({
    // An import in a comment or a string is not an import; a dynamic import() makes no cycle.
    'store/lazy.ts': "// import { b } from '../util/a.js';\nexport const text = \"import '../util/a.js'\";\nexport const later = () => import('./s.js');\n",
  });
  try {
    const r = lint(t.src);
    assert.equal(r.status, 0, r.stderr);
  } finally {
    t.cleanup();
  }
});

test('the lint reports an upward import, an import past index.ts and a cycle, each at file:line', () => {
  const t = fakeTree({
    'util/up.ts': "// util imports nothing\nimport { s } from '../store/index.js';\nexport const up = s;\n",
    'store/past.ts': "import { s } from './s.js';\n\nimport { a } from '../util/a.js';\nexport const past = s + a;\n",
    'store/x.ts': "import type { Y } from './y.js';\nexport interface X { y?: Y }\n",
    'store/y.ts': "\nexport type { X as Y } from './x.js';\n",
    'store/own.ts': "import { s } from './index.js';\nexport const own = s;\n",
  });
  try {
    const r = lint(t.src);
    assert.equal(r.status, 1, r.stdout);
    const lines = r.stderr.trim().split('\n');
    assert.ok(lines.some((l) => l.startsWith('src/util/up.ts:2: util imports store, which is not below it')), r.stderr);
    assert.ok(lines.some((l) => l.startsWith("src/store/past.ts:3: store imports '../util/a.js', past util/index.ts")), r.stderr);
    assert.ok(lines.some((l) => l.startsWith("src/store/own.ts:1: store imports its own index.ts")), r.stderr);
    const cycle = lines.find((l) => l.includes('import cycle'));
    assert.ok(cycle, r.stderr);
    assert.match(cycle, /src\/store\/x\.ts:1 → src\/store\/y\.ts:2 → src\/store\/x\.ts/);
    assert.match(lines.at(-1) ?? '', /^lint-layers: 4 problem\(s\)/);
  } finally {
    t.cleanup();
  }
});

test('the lint reports a module the table does not name', () => {
  const t = fakeTree({ 'gizmo/index.ts': 'export const g = 1;\n' });
  try {
    const r = lint(t.src);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /src\/gizmo\/index\.ts:1: module "gizmo" is not in the table/);
  } finally {
    t.cleanup();
  }
});

test('the real src/ passes the lint', () => {
  const r = lint();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /form no cycle/);
});
