import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharfBin } from '../helpers/paths.js';

let base: string;
const wharf = (...args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', join(base, 'root'), ...args], { encoding: 'utf8', cwd: base });

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'wharf-context-cli-'));
  await mkdir(join(base, 'c', 'sub'), { recursive: true });
  await writeFile(join(base, 'c', 'a'), 'hi');
  await writeFile(join(base, 'c', 'sub', 'b'), 'kept');
  await writeFile(join(base, 'c', 'sub', 'z'), 'ignored');
  await writeFile(join(base, 'c', '.dockerignore'), 'sub\n!sub/b\n');
});
after(() => rm(base, { recursive: true, force: true }));

test('wharf context lists what the build sees after .dockerignore, with a digest', () => {
  const r = wharf('context', 'c', '--digest');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, -1).map((l) => l.replace(/\s+/, ' ')), ['file .dockerignore', 'file a', 'dir sub', 'file sub/b']);
  assert.match(lines[lines.length - 1]!, /^sha256:[0-9a-f]{64}$/);
  assert.match(r.stderr, /read 3 files/);
});

test('a bad .dockerignore pattern exits 1 naming the line, without a stack trace', async () => {
  await writeFile(join(base, 'c', '.dockerignore'), 'ok\n[\n');
  const r = wharf('context', 'c');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: .*\.dockerignore:2: invalid pattern "\["/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('-f is relative to the current directory and brings its own <Dockerfile>.dockerignore', async () => {
  await writeFile(join(base, 'c', '.dockerignore'), 'a\n');
  await mkdir(join(base, 'df'), { recursive: true });
  await writeFile(join(base, 'df', 'app.Dockerfile'), 'FROM scratch\n');
  await writeFile(join(base, 'df', 'app.Dockerfile.dockerignore'), 'sub\n');
  const r = wharf('context', 'c', '-f', 'df/app.Dockerfile');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.replace(/\s+/, ' ')), ['file .dockerignore', 'file a']);
  assert.match(r.stderr, /ignore file: .*app\.Dockerfile\.dockerignore/);
});
