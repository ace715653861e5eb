// Runs every compiled test file under dist/test with node's test runner. Host packages the
// real-client tests need (runc, skopeo, umoci, busybox-static) are installed first, once, because
// parallel test files cannot share apt's lock.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ensure = spawnSync('bash', [join(root, 'scripts', 'ensure-host-packages.sh')], { stdio: 'inherit' });
if (ensure.status !== 0) process.exit(ensure.status ?? 1);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const files = collect(join(root, 'dist', 'test'));
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...selected], { stdio: 'inherit', cwd: root });
process.exit(res.status ?? 1);
