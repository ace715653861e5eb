import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/index.js';
import { loadDescriptor } from '../../src/image/index.js';

const worker = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'store-worker.js');
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-crash-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function run(args: string[]): { child: ChildProcess; exited: Promise<number | null>; ready: Promise<void> } {
  const child = spawn(process.execPath, [worker, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const ready = new Promise<void>((res) => child.stdout!.once('data', () => res()));
  return { child, exited, ready };
}

/** fsck is clean and every tagged image's blobs read back verified. */
async function assertIntact(root: string): Promise<number> {
  const store = await openStore(root);
  const r = await store.fsck();
  assert.deepEqual(r.problems, [], 'fsck is clean');
  const tags = await store.tags();
  for (const t of tags) {
    const img = await loadDescriptor(store, t.ref, t.descriptor);
    for (const l of img.manifest.layers) await store.readBytes(l.digest, l.size);
  }
  return tags.length;
}

test('two processes tagging at once beside a third collecting garbage: every tag kept, nothing lost', async () => {
  const root = join(dir, 'concurrent');
  const stop = join(dir, 'stop-gc');
  // GC is running before the taggers start (a loaded machine can start a process late), and the
  // rounds it finishes while they work are counted.
  const g = run(['gc', root, stop]);
  let gcRounds = 0;
  g.child.stdout!.on('data', (d: Buffer) => (gcRounds += d.toString().length));
  await g.ready;
  const before = gcRounds;
  const a = run(['tag', root, 'a']);
  const b = run(['tag', root, 'b']);
  assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
  const during = gcRounds - before;
  await writeFile(stop, '');
  assert.equal(await g.exited, 0);
  assert.ok(during >= 2, `GC ran alongside the taggers (${during} rounds)`);
  const idx = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as { manifests: unknown[] };
  assert.equal(idx.manifests.length, 41, '20 + 20 own tags and the shared one');
  const store = await openStore(root);
  const names = new Set((await store.tags()).map((t) => t.name));
  for (const p of ['a', 'b']) for (let i = 0; i < 20; i++) assert.ok(names.has(`docker.io/library/${p}-${i}:v`), `${p}-${i}`);
  assert.ok(names.has('docker.io/library/both:v'));
  assert.equal(await assertIntact(root), 41);
});

test('kill -9 at random points during writes, tag updates and GC never leaves a broken store', async () => {
  const root = join(dir, 'killed');
  let sawTags = 0;
  const iterations = 15;
  for (let i = 0; i < iterations; i++) {
    const w = run(['churn', root, String(1 + i * 7919)]);
    await w.ready;
    await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 250)));
    w.child.kill('SIGKILL');
    assert.equal(await w.exited, null, 'the worker was killed, not finished');
    sawTags += await assertIntact(root);
  }
  assert.ok(sawTags > 0, 'the workers got far enough to tag images');
  // Opening swept every dead worker's temp files.
  assert.deepEqual(await readdir(join(root, 'tmp')), []);
  const store = await openStore(root);
  await store.gc();
  assert.deepEqual((await store.fsck()).unreferenced, []);
});
