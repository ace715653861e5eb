// The import checks of `npm run lint`, over every .ts file under src/ (or the directory given as the
// first argument, which test/util/lint.test.ts uses on a small fake tree):
//  1. layers: no module imports a module above it. The table is shared/DESIGN.md's ("Modules
//     (src/), each owning one idea; imports only point down this list"): each module may import
//     what its row names, and what those may import in turn. It is copied here rather than parsed
//     so the check does not depend on the wording of a document.
//  2. interfaces: an import that crosses into another module goes through that module's index.ts,
//     so a module's index.ts is all the others depend on; inside a module, files import their
//     siblings, never their own index.ts (which would make a cycle through it).
//  3. cycles: no cycle among src/ files, counting every static `import` and `export … from`
//     (`import type` too: a type cycle is still two files that cannot be read one at a time).
//     Dynamic `import()` is left out: it loads lazily, after both files are evaluated.
// Imports are read with TypeScript's parser, so comments and strings never count. Each problem is
// printed as file:line; the exit status is 1 when there is one.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const MAY_IMPORT = {
  util: [],
  diag: ['util'],
  hash: ['util'],
  syntax: ['diag', 'util'],
  shell: ['util'],
  instructions: ['syntax', 'shell', 'diag'],
  plan: ['instructions', 'hash'],
  context: ['hash', 'util'],
  store: ['hash', 'util'],
  layer: ['store', 'hash'],
  snapshot: ['layer', 'store'],
  runtime: ['util'],
  image: ['store', 'hash'],
  archive: ['image', 'layer', 'snapshot', 'store'],
  registry: ['image', 'layer', 'snapshot', 'store', 'hash', 'util'],
  cache: ['plan', 'hash', 'store'],
  progress: ['diag'],
  solver: ['plan', 'cache', 'progress'],
  ops: ['solver', 'cache', 'runtime', 'snapshot', 'layer', 'image', 'context', 'registry'],
  advice: ['progress'],
  container: ['ops', 'plan', 'syntax', 'diag', 'runtime', 'snapshot', 'layer', 'image', 'store', 'hash'],
  api: ['*'],
  // `wharf serve` is a CLI command that starts the server: the one import of server.
  cli: ['*', 'server'],
  server: ['api', 'progress'],
};

function closure(mod, seen = new Set()) {
  for (const m of MAY_IMPORT[mod] ?? []) {
    if (m === '*') {
      for (const k of Object.keys(MAY_IMPORT)) if (k !== 'cli' && k !== 'server') seen.add(k);
      continue;
    }
    if (!seen.has(m)) {
      seen.add(m);
      closure(m, seen);
    }
  }
  seen.add('util');
  return seen;
}

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** A relative specifier's .ts file (`./x.js` is `./x.ts`, as NodeNext resolution writes it). */
function resolveSpecifier(from, spec) {
  const p = resolve(dirname(from), spec);
  for (const c of [p.replace(/\.js$/, '.ts'), `${p}.ts`, join(p, 'index.ts')]) if (existsSync(c) && statSync(c).isFile()) return c;
  return p.replace(/\.js$/, '.ts');
}

/** Every relative import of a file: { spec, target, line, dynamic }. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out = [];
  const add = (node, lit, dynamic) => {
    if (!ts.isStringLiteralLike(lit) || !lit.text.startsWith('.')) return;
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    out.push({ spec: lit.text, target: resolveSpecifier(file, lit.text), line, dynamic });
  };
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) add(node, node.moduleSpecifier, false);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0]) add(node, node.arguments[0], true);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal, false);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Strongly connected components of more than one file, or a file importing itself (Tarjan). */
function cycles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? new Set()).has(v)) out.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  return out;
}

/** One shortest cycle through `start` inside `comp`, as the list of files in import order. */
function cycleThrough(start, comp, graph) {
  const inComp = new Set(comp);
  const prev = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v) ?? []) {
      if (!inComp.has(w)) continue;
      if (w === start) {
        const path = [v];
        for (let p = prev.get(v); p !== undefined; p = prev.get(p)) path.unshift(p);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

function lint(src) {
  const base = dirname(src);
  const rel = (f) => relative(base, f);
  const moduleOf = (f) => relative(src, f).split(sep)[0];
  const problems = [];
  const graph = new Map();
  const lines = new Map(); // "from\0to" → line of the first static import
  const all = files(src);
  for (const file of all) {
    const mod = moduleOf(file);
    const edges = new Set();
    graph.set(file, edges);
    if (!(mod in MAY_IMPORT)) {
      problems.push(`${rel(file)}:1: module "${mod}" is not in the table (add it to scripts/lint-layers.mjs and DESIGN.md's table)`);
      continue;
    }
    const allowed = closure(mod);
    for (const imp of importsOf(file)) {
      if (!imp.dynamic) {
        edges.add(imp.target);
        const k = `${file}\0${imp.target}`;
        if (!lines.has(k)) lines.set(k, imp.line);
      }
      const r = relative(src, imp.target);
      if (r.startsWith('..')) continue; // outside src/ (package.json, generated grammar kept elsewhere)
      const target = moduleOf(imp.target);
      const where = `${rel(file)}:${imp.line}`;
      if (target === mod) {
        if (imp.target === join(src, mod, 'index.ts') && file !== imp.target) {
          problems.push(`${where}: ${mod} imports its own index.ts ('${imp.spec}'); inside a module import the sibling file`);
        }
        continue;
      }
      if (!allowed.has(target)) {
        problems.push(`${where}: ${mod} imports ${target}, which is not below it (${mod} may import: ${[...allowed].sort().join(', ')})`);
      }
      if (imp.target !== join(src, target, 'index.ts')) {
        problems.push(`${where}: ${mod} imports '${imp.spec}', past ${target}/index.ts; import it from '${relative(dirname(file), join(src, target, 'index.js')).replace(/^(?!\.)/, './')}' (export it there if it is missing)`);
      }
    }
  }
  for (const comp of cycles(graph)) {
    const path = cycleThrough(comp[0], comp, graph);
    const steps = path.map((f, i) => `${rel(f)}:${lines.get(`${f}\0${path[(i + 1) % path.length]}`)}`);
    problems.push(`${steps[0]}: import cycle: ${[...steps, rel(path[0])].join(' → ')}${comp.length > path.length ? ` (${comp.length} files in this tangle: ${comp.map(rel).join(', ')})` : ''}`);
  }
  return problems;
}

const src = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src'));
const problems = lint(src);
for (const p of problems) console.error(p);
if (problems.length) {
  console.error(`lint-layers: ${problems.length} problem(s) in the imports of ${src}`);
  process.exit(1);
}
console.log('lint-layers: imports point down the module table, cross modules only through index.ts, and form no cycle');
