// How the bundled CLI starts and ends (bin/wharf.js, scripts/bundle.mjs, cli/main.ts): with the
// native addon it maps its bundle rather than reading it, builds without loading node:crypto (nor
// perf_hooks, fs/promises or node:stream), and
// still runs its 'exit' handlers; without the addon it reads the files and hashes through
// node:crypto, to the same image. Run on copies of the CLI, one with dist/native and one without.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledCliCopy } from '../helpers/cli-copy.js';

const tmp = mkdtempSync(join(tmpdir(), 'wharf-startup-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// Loaded before bin/wharf.js (-r), so its 'exit' handler comes first and sees the process as the
// command left it.
const probe = join(tmp, 'probe.cjs');
writeFileSync(
  probe,
  `process.on('exit', () => require('node:fs').writeFileSync(process.env.WHARF_TEST_PROBE, JSON.stringify({
  crypto: process.moduleLoadList.includes('NativeModule crypto'),
  others: ['perf_hooks', 'fs/promises', 'stream'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m)),
  mappedBundle: require('node:fs').readFileSync('/proc/self/maps', 'utf8').split('\\n').some((l) => l.endsWith('/dist/wharf.cjs')),
})));\n`,
);

const ctx = join(tmp, 'ctx');
mkdirSync(ctx);
writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY a /a\nCOPY b /b\n');
writeFileSync(join(ctx, 'a'), 'first file\n');
writeFileSync(join(ctx, 'b'), 'h\u00e9llo\n');

function build(bin: string, name: string): { id: string; crypto: boolean; others: string[]; mappedBundle: boolean } {
  const out = join(tmp, `${name}.probe.json`);
  const r = spawnSync(process.execPath, ['-r', probe, bin, '--root', join(tmp, `root-${name}`), 'build', '-q', '-t', 'start:1', ctx], {
    encoding: 'utf8',
    env: { ...process.env, WHARF_TEST_PROBE: out, SOURCE_DATE_EPOCH: '0' },
  });
  assert.equal(r.status, 0, r.stderr);
  return { id: r.stdout.trim(), ...(JSON.parse(readFileSync(out, 'utf8')) as { crypto: boolean; others: string[]; mappedBundle: boolean }) };
}

test('with the addon the CLI maps its bundle and builds without node:crypto; without it, the same image', () => {
  const withAddon = bundledCliCopy(join(tmp, 'with'));
  const without = bundledCliCopy(join(tmp, 'without'), { native: false });
  const a = build(withAddon, 'with');
  const b = build(without, 'without');
  assert.match(a.id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(b.id, a.id, 'hashed through node:crypto, the same digests');
  assert.deepEqual({ crypto: a.crypto, mappedBundle: a.mappedBundle }, { crypto: false, mappedBundle: true });
  // Nor perf_hooks (util's nowMs), fs/promises or node:stream (loaded on first use, and a build of
  // COPY steps with its output on a pipe uses none).
  assert.deepEqual(a.others, []);
  assert.deepEqual({ crypto: b.crypto, mappedBundle: b.mappedBundle }, { crypto: true, mappedBundle: false });
  // The exit handlers ran before the addon's _exit: the code cache was written at the build's exit.
  const caches = readdirSync(join(tmp, 'with', 'dist', '.v8cache')).filter((f) => f.startsWith('build-') && !f.endsWith('.widened'));
  assert.equal(caches.length, 1, caches.join(' '));
});

test('a bundle from before bundles carried their CommonJS wrapper still runs (a checkout not built again)', () => {
  const bin = bundledCliCopy(join(tmp, 'unwrapped'));
  const file = join(tmp, 'unwrapped', 'dist', 'wharf.cjs');
  const text = readFileSync(file, 'latin1');
  const open = Module.wrap('').slice(0, Module.wrap('').indexOf('\n'));
  const close = text.lastIndexOf('\n})\n');
  assert.ok(text.startsWith(open) && close > 0, 'the built bundle carries its wrapper');
  writeFileSync(file, text.slice(open.length, close) + text.slice(close + 3), 'latin1');
  const r = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+\.\d+\.\d+/);
});
