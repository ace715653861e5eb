import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WHARF_VERSION } from '../../src/cli/version.js';
import { projectRoot, wharfBin } from '../helpers/paths.js';

test('the CLI version is package.json\'s', () => {
  const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  assert.equal(WHARF_VERSION, pkg.version);
});

test('wharf --version prints it and exits 0', () => {
  const r = spawnSync(process.execPath, [wharfBin, '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), WHARF_VERSION);
});
