// The README's main job: runs wharf on the bundled examples with an embedded store under a temp
// root (no daemon, no config) and prints what each step shows.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wharf = join(root, 'bin', 'wharf.js');
const store = process.env.WHARF_ROOT ?? mkdtempSync(join(tmpdir(), 'wharf-demo-'));
const keepStore = Boolean(process.env.WHARF_ROOT);

function step(title, args) {
  process.stdout.write(`\n\x1b[1m$ wharf ${args.join(' ')}\x1b[0m   # ${title}\n`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [wharf, '--root', store, ...args], { stdio: 'inherit', cwd: root });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(`(${ms.toFixed(0)} ms, exit ${r.status})\n`);
  if (r.status !== 0) {
    cleanup();
    process.exit(r.status ?? 1);
  }
}
function cleanup() {
  if (!keepStore) rmSync(store, { recursive: true, force: true });
}

step('parse a Dockerfile into BuildKit\'s AST dump', ['parse', '--format', 'buildkit', '-f', 'examples/hello/Dockerfile']);
step('plan a multi-stage build: two independent stages feed the last', ['plan', '-f', 'examples/multistage/Dockerfile']);
step('plan only what --target needs', ['plan', '-f', 'examples/multistage/Dockerfile', '--target', 'words']);
cleanup();
