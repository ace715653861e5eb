// bin/wharf.js keeps a V8 code cache per command; for `build` the first build that ran steps
// rewrites a cache a build that ran none wrote (a cache holds only what its writer had compiled),
// once. Run on a copy of bin/ and the bundle, so the checkout's own cache is left alone.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledCliCopy } from '../helpers/cli-copy.js';

const tmp = mkdtempSync(join(tmpdir(), 'wharf-code-cache-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('a build that ran steps widens a code cache a no-op build wrote, once', () => {
  const bin = bundledCliCopy(join(tmp, 'cli'));
  const cacheDir = join(tmp, 'cli', 'dist', '.v8cache');
  const ctx = join(tmp, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY a /a\n');
  const build = (content: string) => {
    writeFileSync(join(ctx, 'a'), content);
    const r = spawnSync(process.execPath, [bin, '--root', join(tmp, 'root'), 'build', '-q', '-t', 'cc:1', ctx], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  const cacheFiles = () => readdirSync(cacheDir).filter((f) => f.startsWith('build-')).sort();
  build('1');
  // Written by a build that ran its COPY: the cache and its marker.
  const [cache, marker] = cacheFiles();
  assert.ok(cache && marker === `${cache}.widened`, cacheFiles().join(' '));
  // A no-op build writes a cache of its own when there is none, without the marker ...
  rmSync(join(cacheDir, cache), { force: true });
  rmSync(join(cacheDir, marker), { force: true });
  build('1');
  assert.deepEqual(cacheFiles(), [cache]);
  const narrow = statSync(join(cacheDir, cache));
  // ... which the next build that runs a step replaces, once.
  build('2');
  assert.deepEqual(cacheFiles(), [cache, marker]);
  const wide = statSync(join(cacheDir, cache));
  assert.notEqual(wide.ino, narrow.ino, 'the cache was written again');
  assert.ok(wide.size > narrow.size, `it holds more code (${narrow.size} -> ${wide.size} bytes)`);
  build('3');
  assert.equal(statSync(join(cacheDir, cache)).ino, wide.ino, 'and not again');
  assert.ok(existsSync(join(cacheDir, marker)));
});
