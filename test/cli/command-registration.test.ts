// src/cli/main.ts declares the commands only up to the one the arguments name (a start-up cost);
// whatever the arguments, what the CLI prints and accepts must be what it was with all of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharfBin } from '../helpers/paths.js';

const wharf = (...args: string[]) => spawnSync(process.execPath, [wharfBin, ...args], { encoding: 'utf8' });

test('help and mistyped commands still see every command', () => {
  const help = wharf('--help');
  assert.equal(help.status, 0, help.stderr);
  for (const c of ['build', 'images', 'pull', 'run', 'ps', 'serve']) assert.match(help.stdout, new RegExp(`^  ${c} `, 'm'));
  // `--root build`: the word after --root is its value, not the command.
  const typo = wharf('--root', 'build', 'serv');
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /unknown command 'serv'\n\(Did you mean serve\?\)/);
  const helpCommand = wharf('help', 'serve');
  assert.equal(helpCommand.status, 0, helpCommand.stderr);
  assert.match(helpCommand.stdout, /^Usage: wharf serve /);
});

test('a named command runs with its own options, wherever it is in the list', () => {
  const root = mkdtempSync(join(tmpdir(), 'wharf-command-registration-'));
  try {
    const images = wharf('--root', join(root, 'images'), 'images');
    assert.equal(images.status, 0, images.stderr);
    assert.match(images.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID/);
    // ps is declared by the container commands, ls as an alias of `container ps`.
    for (const args of [['ps', '-a'], ['container', 'ls', '-a']]) {
      const r = wharf('--root', root, ...args);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^CONTAINER ID\s+IMAGE/);
    }
    const bad = wharf('build', '--root', root, '--no-such-flag', '.');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown option '--no-such-flag'/);
    const serveHelp = wharf('serve', '--help');
    assert.equal(serveHelp.status, 0, serveHelp.stderr);
    assert.match(serveHelp.stdout, /--root <dir>/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
