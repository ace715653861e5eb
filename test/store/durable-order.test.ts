// The order that keeps a store whole through a power loss, as the system calls show it (strace):
// every blob's bytes are fsynced before its rename into blobs/, and blobs/ itself is fsynced after
// the last such rename and before index.json, which names them, moves into place.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharfBin } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'wharf-durable-order-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('blobs are fsynced before their rename, blobs/ before index.json moves', () => {
  assert.equal(spawnSync('strace', ['-V']).status, 0, 'strace is installed (scripts/ensure-host-packages.sh)');
  const ctx = join(tmp, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY a /a\nCOPY b /b\n');
  writeFileSync(join(ctx, 'a'), 'a\n');
  writeFileSync(join(ctx, 'b'), 'b\n'.repeat(200_000)); // past the synchronous small-blob path
  const root = join(tmp, 'root');
  const trace = join(tmp, 'trace');
  const r = spawnSync('strace', ['-f', '-e', 'trace=openat,fsync,fdatasync,rename,renameat,renameat2,close', '-o', trace,
    process.execPath, wharfBin, '--root', root, 'build', '-q', '-t', 'order:1', ctx], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(trace, 'utf8').split('\n');
  const blobDir = join(root, 'blobs', 'sha256');
  // What each descriptor was last opened on: threads share them (the thread pool opens a blob, another
  // thread fsyncs it), and nothing else in the build opens files as the blobs are written.
  const openOn = new Map<string, string>();
  const events: { kind: 'fsync' | 'rename'; path: string; to?: string }[] = [];
  // fsyncs run on several threads at once (util's fsyncAll): strace splits such a call into
  // `PID fsync(FD <unfinished ...>` and, when it returns, `PID <... fsync resumed>) = 0`. An fsync
  // counts where it returned.
  const started = new Map<string, string>();
  for (const l of lines) {
    const open = /openat\(AT_FDCWD, "([^"]+)".*\) = (\d+)$/.exec(l);
    if (open) openOn.set(open[2]!, open[1]!);
    const unfinished = /^(\d+)\s+(?:fsync|fdatasync)\((\d+) <unfinished/.exec(l);
    if (unfinished) started.set(unfinished[1]!, openOn.get(unfinished[2]!) ?? '');
    const resumed = /^(\d+)\s+<\.\.\. (?:fsync|fdatasync) resumed>\)\s+= 0/.exec(l);
    if (resumed && started.get(resumed[1]!)) events.push({ kind: 'fsync', path: started.get(resumed[1]!)! });
    const sync = /(?:fsync|fdatasync)\((\d+)\)\s+= 0/.exec(l);
    const path = sync && openOn.get(sync[1]!);
    if (path) events.push({ kind: 'fsync', path });
    const ren = /rename(?:at2?)?\((?:AT_FDCWD, )?"([^"]+)", (?:AT_FDCWD, )?"([^"]+)"/.exec(l);
    if (ren) events.push({ kind: 'rename', path: ren[1]!, to: ren[2]! });
  }
  const intoBlobs = events.flatMap((e, i) => (e.kind === 'rename' && e.to!.startsWith(blobDir + '/') ? [i] : []));
  assert.ok(intoBlobs.length >= 4, `two layers, a config and a manifest were stored (${intoBlobs.length} renames into blobs/)`);
  for (const i of intoBlobs) {
    const src = events[i]!.path;
    assert.ok(events.slice(0, i).some((e) => e.kind === 'fsync' && e.path === src), `${src} was fsynced before its rename`);
  }
  const index = events.findIndex((e) => e.kind === 'rename' && e.to === join(root, 'index.json') && events.indexOf(e) > intoBlobs.at(-1)!);
  assert.ok(index > 0, 'index.json moved after the blobs');
  const dirSync = events.findIndex((e, i) => i > intoBlobs.at(-1)! && i < index && e.kind === 'fsync' && e.path === blobDir);
  assert.ok(dirSync > 0, 'blobs/ was fsynced between the last blob rename and the move of index.json');
});
