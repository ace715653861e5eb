// scripts/bundle.mjs writes the CLI's bundles as pure ASCII, so V8 holds each source as a
// one-byte string (bench/README.md, "Start-up snapshot") and bin/wharf.js can read them as latin1,
// without UTF-8 decoding: one byte above 0x7F would be misread, and one character above U+00FF
// would make the whole bundle two-byte again. The `\uXXXX` escapes it writes must mean what the characters
// meant: the Dockerfile duration parser's units include two non-ASCII micro signs, in regular
// expressions and object keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot, wharfBin } from '../helpers/paths.js';

const bundles = ['wharf.cjs', 'undici.cjs'].map((f) => join(projectRoot, 'dist', f));

test('the bundles are pure ASCII', () => {
  for (const file of bundles) {
    const bytes = readFileSync(file);
    const at = bytes.findIndex((b) => b > 0x7f);
    const line = at < 0 ? 0 : bytes.subarray(0, at).toString('latin1').split('\n').length;
    assert.equal(at, -1, `${file}: a non-ASCII byte at offset ${at} (line ${line})`);
  }
});

test('the bundled CLI reads durations with either micro sign', () => {
  // bin/wharf.js runs the bundle only while it is newer than the compiled modules (npm run build).
  assert.ok(statSync(bundles[0]!).mtimeMs >= statSync(join(projectRoot, 'dist', 'src', 'cli', 'main.js')).mtimeMs, 'rebuild: npm run build');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bundle-ascii-'));
  try {
    // U+03BC (Greek mu) and U+00B5 (micro sign), as Go's time.ParseDuration takes both.
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nHEALTHCHECK --interval=1500\u03bcs --timeout=2000\u00b5s CMD true\n');
    const run = (...args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', join(dir, 'root'), ...args], { encoding: 'utf8' });
    const r = run('plan', '--format', 'json', dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"interval": 1500000,\s*"timeout": 2000000,/);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nHEALTHCHECK --interval=1500\u03bds CMD true\n');
    const bad = run('plan', dir);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /Dockerfile:2:24: error: invalid duration for --interval: 1500\u03bds/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
