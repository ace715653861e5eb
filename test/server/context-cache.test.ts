// No-op rebuilds through `wharf serve`: the docker CLI streams the whole context as a tar every
// time; it is unpacked over the previous one of the same tags/target, files whose tar headers
// (path, size, mtime, mode, owner) match are neither written nor hashed again, and a changed file
// is hashed and misses its own step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { servedBusyboxSuite } from './helpers.js';

const suite = servedBusyboxSuite('wharf-serve-ctxcache-');

/** The context counters of the server's log line for the `n`th build request (1-based), once logged. */
async function buildNote(n: number): Promise<{ files: number; hashed: number; fromCache: number }> {
  for (let i = 0; i < 200; i++) {
    const lines = suite.server.log().split('\n').filter((l) => / POST \/v[\d.]+\/build\?/.test(l));
    const m = lines[n - 1] && /; context (\d+) files, (\d+) hashed \(\d+ bytes\), (\d+) from the stat cache/.exec(lines[n - 1]!);
    if (m) return { files: Number(m[1]), hashed: Number(m[2]), fromCache: Number(m[3]) };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no log line for build ${n}:\n${suite.server.log()}`);
}

test('a second identical build through serve hashes no file; a one-file change hashes that file and misses its step', async () => {
  const ctx = await suite.env.context('cached-ctx', {
    Dockerfile: 'FROM busybox:test\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\nCOPY c.txt /c.txt\nRUN cat /a.txt /b.txt /c.txt > /abc\n',
    'a.txt': 'alpha\n',
    'b.txt': 'bravo\n',
    'c.txt': 'charlie\n',
  });
  // Files written this instant are "racy" (a write within the mtime's granularity would go
  // unseen), and are never trusted from a cache: date them an hour back, as an edited tree's are.
  const past = Date.now() / 1000 - 3600;
  for (const f of ['Dockerfile', 'a.txt', 'b.txt', 'c.txt']) await utimes(join(ctx, f), past, past);

  const first = suite.server.docker(['build', '-t', 'cc:1', ctx]);
  assert.equal(first.status, 0, first.stderr);
  const n1 = await buildNote(1);
  assert.equal(n1.files, 4);
  assert.equal(n1.hashed, 3, 'the first build hashes every file COPY uses (the Dockerfile is read, not hashed)');

  // The context is unpacked into a dir the store keeps for these tags, over the previous one.
  const streams = join(suite.env.root, 'context', 'streams');
  const kept = (await readdir(streams)).filter((n) => !n.endsWith('.lock'));
  assert.equal(kept.length, 1);
  const keptDir = join(streams, kept[0]!);
  // Inode and ctime: a file written anew gets a new ctime (its inode number may be reused).
  const inode = async (f: string) => {
    const st = await stat(join(keptDir, f), { bigint: true });
    return `${st.ino}:${st.ctimeNs}`;
  };
  const before = { a: await inode('a.txt'), b: await inode('b.txt') };

  const second = suite.server.docker(['build', '-t', 'cc:1', ctx]);
  assert.equal(second.status, 0, second.stderr);
  assert.equal((second.stdout.match(/Using cache/g) ?? []).length, 4);
  const n2 = await buildNote(2);
  assert.deepEqual(n2, { files: 4, hashed: 0, fromCache: 3 }, 'nothing is hashed again');
  assert.deepEqual({ a: await inode('a.txt'), b: await inode('b.txt') }, before, 'unchanged files are not written again');

  // Another tag is another project: its first build trusts nothing from cc:1's cache.
  const other = suite.server.docker(['build', '-t', 'other:1', ctx]);
  assert.equal(other.status, 0, other.stderr);
  assert.equal((await buildNote(3)).hashed, 3);

  // b.txt changes (same size, another mtime): hashed alone; its COPY and what follows run again.
  await writeFile(join(ctx, 'b.txt'), 'BRAVO\n');
  await utimes(join(ctx, 'b.txt'), past + 60, past + 60);
  const changed = suite.server.docker(['build', '-t', 'cc:1', ctx]);
  assert.equal(changed.status, 0, changed.stderr);
  const n4 = await buildNote(4);
  assert.deepEqual(n4, { files: 4, hashed: 1, fromCache: 2 });
  assert.equal(await inode('a.txt'), before.a);
  assert.notEqual(await inode('b.txt'), before.b, 'the changed file is written anew');
  assert.equal(await readFile(join(keptDir, 'b.txt'), 'utf8'), 'BRAVO\n');
  assert.match(changed.stdout, /Step 2\/5 : COPY a\.txt \/a\.txt\n ---> Using cache/);
  assert.match(changed.stdout, /Step 3\/5 : COPY b\.txt \/b\.txt\n(?! ---> Using cache)/, 'the changed file misses its step');
  assert.match(changed.stdout, /Step 5\/5 : RUN cat[^\n]*\n(?! ---> Using cache)/);
  assert.equal(suite.env.wharf(['run', 'cc:1', 'cat', '/abc']).stdout, 'alpha\nBRAVO\ncharlie\n', 'the image has the new content');

  // A changed mode alone (no content change) is seen too: the file is hashed again.
  await chmod(join(ctx, 'c.txt'), 0o600);
  const mode = suite.server.docker(['build', '-t', 'cc:1', ctx]);
  assert.equal(mode.status, 0, mode.stderr);
  assert.equal((await buildNote(5)).hashed, 1);

  // A file gone from the context is gone from the kept dir (COPY . would otherwise see it).
  await rm(join(ctx, 'c.txt'));
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox:test\nCOPY . /all/\n');
  const removed = suite.server.docker(['build', '-t', 'cc:1', ctx]);
  assert.equal(removed.status, 0, removed.stderr);
  assert.deepEqual((await readdir(keptDir)).sort(), ['Dockerfile', 'a.txt', 'b.txt']);
  assert.equal(suite.env.wharf(['run', 'cc:1', 'ls', '/all']).stdout, 'Dockerfile\na.txt\nb.txt\n');

  // `docker builder prune` (POST /build/prune) removes the kept dirs no build is using.
  const pruned = suite.server.docker(['builder', 'prune', '-f']);
  assert.equal(pruned.status, 0, pruned.stderr);
  assert.deepEqual((await readdir(streams)).filter((n) => !n.endsWith('.lock')), []);
  const again = suite.server.docker(['build', '-t', 'cc:1', ctx]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /Using cache/, 'the build cache itself is kept');
});

test('docker build -f with a Dockerfile outside the context: the CLI\'s tar (no padding after it) is read whole', async () => {
  const ctx = await suite.env.context('outside-ctx', { 'a.txt': 'from outside\n' });
  const df = join(suite.dir, 'Outside.Dockerfile');
  await writeFile(df, 'FROM busybox:test\nCOPY a.txt /a.txt\n');
  const b = suite.server.docker(['build', '-t', 'outside:1', '-f', df, ctx]);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(suite.env.wharf(['run', 'outside:1', 'cat', '/a.txt']).stdout, 'from outside\n');
});

test('a file rewritten with the same size within its mtime second is built with its new content (the tar says whole seconds)', async () => {
  const ctx = await suite.env.context('racy-ctx', { Dockerfile: 'FROM busybox:test\nCOPY a.txt /a.txt\n', 'a.txt': 'change 1\n' });
  // The same whole second for both versions, as a quick edit-and-rebuild gives (this one is pinned
  // so that the test does not depend on how fast the first build is).
  const second = Math.floor(Date.now() / 1000);
  await utimes(join(ctx, 'a.txt'), second, second);
  const first = suite.server.docker(['build', '-q', '-t', 'racy:1', ctx]);
  assert.equal(first.status, 0, first.stderr);
  await writeFile(join(ctx, 'a.txt'), 'change 2\n');
  await utimes(join(ctx, 'a.txt'), second, second);
  const again = suite.server.docker(['build', '-q', '-t', 'racy:1', ctx]);
  assert.equal(again.status, 0, again.stderr);
  assert.notEqual(again.stdout.trim(), first.stdout.trim(), 'another image');
  assert.equal(suite.env.wharf(['run', 'racy:1', 'cat', '/a.txt']).stdout, 'change 2\n');
});
