// The layer check of `npm run lint`: no module under src/ imports a module above it. The table is
// shared/DESIGN.md's ("Modules (src/), each owning one idea; imports only point down this list"):
// each module may import what its row names, and what those may import in turn. It is copied here
// rather than parsed so the check does not depend on the wording of a document.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  api: ['*'],
  cli: ['*'],
  server: ['*'],
};

function closure(mod, seen = new Set()) {
  for (const m of MAY_IMPORT[mod] ?? []) {
    if (m === '*') return new Set(Object.keys(MAY_IMPORT).filter((k) => k !== 'cli' && k !== 'server'));
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
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const problems = [];
for (const file of files(src)) {
  const mod = relative(src, file).split('/')[0];
  if (!(mod in MAY_IMPORT)) {
    problems.push(`${relative(root, file)}: module "${mod}" is not in the table (add it to scripts/lint-layers.mjs and DESIGN.md's table)`);
    continue;
  }
  const allowed = closure(mod);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g)) {
    const target = relative(src, resolve(dirname(file), m[1])).split('/')[0];
    if (target === mod || target.startsWith('..')) continue;
    if (!allowed.has(target)) {
      const line = text.slice(0, m.index).split('\n').length + (m[0].startsWith('\n') ? 1 : 0);
      problems.push(`${relative(root, file)}:${line}: ${mod} imports ${target}, which is not below it (${mod} may import: ${[...allowed].sort().join(', ')})`);
    }
  }
}
for (const p of problems) console.error(p);
if (problems.length) {
  console.error(`lint-layers: ${problems.length} import(s) point up the module table`);
  process.exit(1);
}
console.log('lint-layers: every import points down the module table');
