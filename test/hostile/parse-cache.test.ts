// A kept parse (src/api/parse-cache.ts) is read as a regular file only: a FIFO in its place must
// not hang the build, and a symlink must not be followed to a file that claims the same text.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { SourceFile } from '../../src/diag/index.js';
import { parseDockerfileKept } from '../../src/api/parse-cache.js';
import { keptFileOf, written } from '../helpers/kept-parse.js';

const tmp = mkdtempSync(join(tmpdir(), 'wharf-hostile-parse-cache-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('a FIFO or a symlink in place of the kept file is not read (no hang, no read through the link)', async () => {
  const dir = join(tmp, 'hostile');
  const text = 'FROM busybox\nRUN echo hostile\n';
  const path = await keptFileOf(dir, text);
  // A link to a kept parse of another text that claims this one's id: followed, it would be read.
  const decoy = join(tmp, 'decoy.json');
  const decoyed = readFileSync(path, 'utf8').replaceAll('hostile', 'decoyed');
  assert.match(decoyed, /echo decoyed/);
  writeFileSync(decoy, decoyed);
  rmSync(path);
  symlinkSync(decoy, path);
  const viaLink = parseDockerfileKept(new SourceFile('Dockerfile', text), dir);
  assert.match(JSON.stringify(viaLink.ast), /hostile/);
  assert.doesNotMatch(JSON.stringify(viaLink.ast), /decoyed/);
  await written();
  assert.match(readFileSync(decoy, 'utf8'), /echo decoyed/, 'the link was replaced, its target left alone');
  rmSync(path, { force: true });
  execFileSync('mkfifo', [path]);
  const viaFifo = parseDockerfileKept(new SourceFile('Dockerfile', text), dir);
  assert.match(JSON.stringify(viaFifo.ast), /hostile/);
  await written();
});

