/**
 * `wharf bench` checks --build-arg the way build does, before its warm-up build: a malformed one
 * is one usage error naming the flag, not a failed build inside the benchmark.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharfBin } from '../helpers/paths.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-front2-bench-'));
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nARG A\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

for (const arg of ['=x', '=', '==']) {
  test(`bench --build-arg ${JSON.stringify(arg)} is refused before any build runs`, () => {
    const root = join(dir, `store-${arg.length}`);
    const r = spawnSync(process.execPath, [wharfBin, '--root', root, 'bench', '--runs', '1', '--build-arg', arg, dir], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`invalid --build-arg "${arg}"`));
    assert.match(r.stderr, /--build-arg NAME=value/);
    assert.doesNotMatch(r.stderr, /\n\s+at |wharf build exited/);
    assert.ok(!existsSync(join(root, 'index.json')), 'no build opened the store');
  });
}
