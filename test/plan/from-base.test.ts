/** A FROM whose name expands to nothing, or to something that is no image reference, is refused at the FROM. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharfBin } from '../helpers/paths.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-from-base-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const plan = (dockerfile: string, ...args: string[]) => {
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return spawnSync(process.execPath, [wharfBin, 'plan', ...args], { cwd: dir, encoding: 'utf8' });
};

test('ARG without a default and FROM ${BASE}: "base name should not be blank", located, with a --build-arg hint', () => {
  const r = plan('ARG BASE\nFROM ${BASE}\nRUN true\n');
  assert.equal(r.status, 1);
  assert.equal(r.stderr, [
    'Dockerfile:2:6: error: base name (${BASE}) should not be blank',
    ' 2 | FROM ${BASE}',
    '   |      ^^^^^^^',
    'hint: pass --build-arg BASE=<image>, or give ARG BASE a default before the first FROM',
    '',
  ].join('\n'));
  const ok = plan('ARG BASE\nFROM ${BASE}\nRUN true\n', '--build-arg', 'BASE=alpine:3');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /FROM alpine:3/);
});

test('an invalid reference after expansion is refused at the FROM; stage names and scratch are not references', () => {
  const tagless = plan('ARG V\nFROM alpine:${V}\n');
  assert.equal(tagless.status, 1);
  assert.match(tagless.stderr, /^Dockerfile:2:6: error: invalid base image reference "alpine:" \(from alpine:\$\{V\}\): invalid tag ""/);
  assert.match(tagless.stderr, /hint: pass --build-arg V=<image>/);
  const upper = plan('FROM Alpine:3\n');
  assert.equal(upper.status, 1);
  assert.match(upper.stderr, /^Dockerfile:1:6: error: invalid base image reference "Alpine:3": .*lowercase/m);
  assert.match(upper.stderr, / 1 \| FROM Alpine:3\n {3}\| {6}\^{8}\n/);
  assert.doesNotMatch(upper.stderr, /\n\s+at /);
  const stage = plan('FROM busybox AS Build\nFROM Build\nFROM scratch\n');
  assert.equal(stage.status, 0, stage.stderr);
});
