// Runs every compiled test file under dist/test with node's test runner. Host packages the
// real-client tests need (runc, skopeo, umoci, busybox-static) are installed first, once, because
// parallel test files cannot share apt's lock.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
// The CLI keeps crun's probe verdict and compiled seccomp filters in a host-wide cache
// (/run/wharf/runtime); the tests' commands keep theirs in a dir of this run, removed after it.
const runtimeCache = mkdtempSync(join(tmpdir(), 'wharf-test-runtime-cache-'));
const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...selected], {
  stdio: 'inherit', cwd: root, env: { ...process.env, WHARF_RUNTIME_CACHE: process.env.WHARF_RUNTIME_CACHE ?? runtimeCache },
});
rmSync(runtimeCache, { recursive: true, force: true });
process.exit(res.status ?? 1);
