/**
 * `npm run bench`: runs wharf's micro-benchmarks one after another (never in parallel: each one
 * wants both cores) and prints each one's own report. Pass names to run a subset:
 *   npm run bench -- parse context
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** name → compiled script and the arguments that keep a full run to a few minutes on 2 cores. */
const benches: Record<string, string[]> = {
  parse: ['parse.js'],
  context: ['context.js'],
  'layer-commit': ['layer-commit.js', '--size-mb', '1024'],
  'run-overhead': ['run-overhead.js', '50'],
  startup: ['startup.js', '20'],
  registry: ['registry.js', '--runs', '5'],
  'cache-share': ['cache-share.js'],
};

const wanted = process.argv.slice(2);
for (const name of wanted) if (!(name in benches)) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(benches).join(', ')}`);
let failed = 0;
for (const [name, [script, ...args]] of Object.entries(benches)) {
  if (wanted.length && !wanted.includes(name)) continue;
  const file = join(here, script!);
  if (!existsSync(file)) continue;
  process.stdout.write(`\n## ${name}\n`);
  const r = spawnSync(process.execPath, [file, ...args], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
