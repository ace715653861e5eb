import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, writeFile, symlink, rm, utimes, chmod, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadXxh64, type Xxh64Hasher } from '../../src/hash/index.js';
import { diffTreeRecords, hasGlobMeta, openContext, selectSources, StatCache, walkContext, type BuildContext } from '../../src/context/index.js';
import { treeRecords } from '../../src/context/treedigest.js';
import { Fingerprinter } from '../../src/context/fingerprint.js';
import { ignoreFileCandidates } from '../../src/context/ignorefile.js';

let base: string;
let ctxDir: string;
let outside: string;
let storeRoot: string;
let hasher: Xxh64Hasher;
const HOUR_AGO = () => new Date(Date.now() - 3600_000);

/** Writes a file with an old mtime, so the stat cache does not treat it as racy. */
async function put(rel: string, data: string | Buffer, mtime = HOUR_AGO()): Promise<void> {
  await writeFile(join(ctxDir, rel), data);
  await utimes(join(ctxDir, rel), mtime, mtime);
}

async function open(dockerfile = 'Dockerfile'): Promise<BuildContext> {
  const r = await openContext({ contextDir: ctxDir, dockerfile, storeRoot, hasher });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** Opens the context, digests everything it holds, saves the cache. */
async function digestAll(): Promise<{ digest: string; filesRead: number; fromCache: number; ctx: BuildContext }> {
  const ctx = await open();
  const digest = await ctx.treeDigest(ctx.entries);
  await ctx.close();
  return { digest, filesRead: ctx.counters.filesRead, fromCache: ctx.counters.filesFromCache, ctx };
}

before(async () => {
  hasher = await loadXxh64();
  base = await mkdtemp(join(tmpdir(), 'wharf-context-'));
  ctxDir = join(base, 'ctx');
  outside = join(base, 'outside');
  storeRoot = join(base, 'store');
  await mkdir(join(ctxDir, 'src'), { recursive: true });
  await mkdir(join(ctxDir, 'node_modules'));
  await mkdir(join(outside, 'dir'), { recursive: true });
  await writeFile(join(outside, 'secret'), 'outside secret');
  await writeFile(join(outside, 'dir', 'f'), 'outside dir file');
  await put('Dockerfile', 'FROM scratch\n');
  await put('.dockerignore', '# deps\nnode_modules\n*.log\n');
  await put('a.txt', 'hello');
  await put('src/x.ts', 'export const x = 1;\n');
  await put('src/y.ts', 'export const y = 2;\n');
  await put('big.bin', Buffer.alloc(300 * 1024, 7));
  await put('debug.log', 'ignored');
  await put('node_modules/m.js', 'ignored too');
  await symlink(join(outside, 'secret'), join(ctxDir, 'secret-link'));
  await symlink('../outside/dir', join(ctxDir, 'dir-link'));
});
after(() => rm(base, { recursive: true, force: true }));

test('the walk leaves out ignored paths and lists symlinks with their targets, unfollowed', async () => {
  const ctx = await open();
  const paths = ctx.entries.map((e) => e.path);
  assert.deepEqual(paths, ['.dockerignore', 'Dockerfile', 'a.txt', 'big.bin', 'dir-link', 'secret-link', 'src', 'src/x.ts', 'src/y.ts']);
  const link = ctx.entries.find((e) => e.path === 'secret-link')!;
  assert.equal(link.type, 'symlink');
  assert.equal(link.linkTarget, join(outside, 'secret'));
  assert.equal(ctx.entries.find((e) => e.path === 'src/x.ts')!.size, 20);
  assert.equal(ctx.ignoreFile, join(ctxDir, '.dockerignore'));
});

test('an unchanged context is digested again without reading a file; touch keeps the digest', async () => {
  const cold = await digestAll();
  assert.equal(cold.filesRead, 6);
  assert.ok(cold.ctx.counters.bytesHashed >= 300 * 1024);
  const statFile = StatCache.fileFor(storeRoot, ctxDir);
  assert.ok((await stat(statFile)).isFile());
  assert.match(statFile, /[/]context[/][0-9a-f]{64}\.statcache$/);

  const warm = await digestAll();
  assert.equal(warm.digest, cold.digest);
  assert.equal(warm.filesRead, 0);
  assert.equal(warm.fromCache, 6);

  // mtime-only change: the file is read again (its stat changed) but the digest does not move.
  const later = new Date(Date.now() - 1800_000);
  await utimes(join(ctxDir, 'a.txt'), later, later);
  const touched = await digestAll();
  assert.equal(touched.digest, cold.digest);
  assert.equal(touched.filesRead, 1);
  const again = await digestAll();
  assert.equal(again.filesRead, 0);
});

test('a stat cache a crash cut short or emptied (it is written without fsync) loses only what is gone: the rest is read again', async () => {
  const cold = await digestAll();
  const statFile = StatCache.fileFor(storeRoot, ctxDir);
  const text = await readFile(statFile, 'utf8');
  const lines = text.split('\n').filter(Boolean);
  assert.equal(lines.length, 7, 'a header and six records');
  // Cut inside the fourth record: three records survive whole, the cut one is dropped.
  await writeFile(statFile, text.slice(0, text.indexOf(lines[4]!) + 10));
  const cut = await digestAll();
  assert.equal(cut.digest, cold.digest);
  assert.equal(cut.fromCache, 3);
  assert.equal(cut.filesRead, 3);
  await writeFile(statFile, '');
  const emptied = await digestAll();
  assert.equal(emptied.digest, cold.digest);
  assert.equal(emptied.filesRead, 6);
  assert.equal((await digestAll()).filesRead, 0, 'written again whole');
});

test('a content change changes the digest, even at the same size, and the records say which file', async () => {
  const before = await digestAll();
  const beforeRecords = await before.ctx.treeRecords(before.ctx.entries);
  await put('src/x.ts', 'export const x = 9;\n', new Date(Date.now() - 1700_000));
  await chmod(join(ctxDir, 'src', 'y.ts'), 0o600);
  const after = await digestAll();
  assert.notEqual(after.digest, before.digest);
  assert.equal(after.filesRead, 2);
  assert.deepEqual(diffTreeRecords(beforeRecords, await after.ctx.treeRecords(after.ctx.entries)), [
    { path: 'src/x.ts', change: 'content' },
    { path: 'src/y.ts', change: 'metadata', detail: 'mode 0644 → 0600' },
  ]);
  await chmod(join(ctxDir, 'src', 'y.ts'), 0o644);
});

test('a mode change changes the digest', async () => {
  const before = await digestAll();
  await chmod(join(ctxDir, 'a.txt'), 0o600);
  const after = await digestAll();
  assert.notEqual(after.digest, before.digest);
  await chmod(join(ctxDir, 'a.txt'), 0o644);
  assert.equal((await digestAll()).digest, before.digest);
});

test('changes to ignored files and to files outside the context behind symlinks change nothing', async () => {
  const before = await digestAll();
  await put('debug.log', 'changed log');
  await put('node_modules/m.js', 'changed dependency');
  await writeFile(join(outside, 'secret'), 'a new outside secret');
  await writeFile(join(outside, 'dir', 'f'), 'changed');
  const after = await digestAll();
  assert.equal(after.digest, before.digest);
  assert.equal(after.filesRead, 0);
  assert.ok(!after.ctx.entries.some((e) => e.path.startsWith('dir-link/')));
});

test('a file modified just before it was hashed is not trusted from the stat cache (racy git)', async () => {
  await put('fresh.txt', 'new', new Date());
  const first = await digestAll();
  assert.ok(first.filesRead >= 1);
  const second = await digestAll();
  assert.equal(second.digest, first.digest);
  assert.equal(second.filesRead, 1, 'the racy file is hashed again');
  await rm(join(ctxDir, 'fresh.txt'));
});

test('the stat cache trusts a file only once its mtime is older than the margin before hashing', async () => {
  const entries = (await walkContext(ctxDir)).filter((e) => e.path === 'a.txt');
  const mtime = entries[0]!.mtimeMs;
  const cache = StatCache.inMemory();
  await new Fingerprinter(ctxDir, hasher, cache, () => mtime + 1000).fingerprints(entries);
  assert.equal(cache.lookup(entries[0]!), undefined);
  await new Fingerprinter(ctxDir, hasher, cache, () => mtime + 3000).fingerprints(entries);
  assert.ok(cache.lookup(entries[0]!));
});

test('a streamed context\'s stat cache (named by key) compares size, mtime, mode and owner, not inode or ctime', async () => {
  const [e] = (await walkContext(ctxDir)).filter((x) => x.path === 'a.txt');
  const cache = await StatCache.openStreamed(storeRoot, 'key-1');
  await new Fingerprinter(ctxDir, hasher, cache, () => e!.mtimeMs + 3000).fingerprints([e!]);
  await cache.save([e!]);
  const reopened = await StatCache.openStreamed(storeRoot, 'key-1');
  // The same file unpacked afresh: a new inode and ctime, the same header fields.
  assert.ok(reopened.lookup({ ...e!, statSig: 'another-inode-and-ctime' }), 'served by the header fields');
  assert.equal(reopened.lookup({ ...e!, mtimeMs: e!.mtimeMs + 1000 }), undefined, 'another mtime');
  assert.equal(reopened.lookup({ ...e!, size: e!.size + 1 }), undefined, 'another size');
  assert.equal(reopened.lookup({ ...e!, mode: e!.mode ^ 0o100 }), undefined, 'another mode');
  assert.equal(reopened.lookup({ ...e!, uid: e!.uid + 1 }), undefined, 'another owner');
  assert.equal((await StatCache.openStreamed(storeRoot, 'key-2')).lookup(e!), undefined, 'another key knows nothing');
});

test('<Dockerfile>.dockerignore takes precedence over .dockerignore', async () => {
  assert.deepEqual(ignoreFileCandidates('/c', 'sub/app.Dockerfile'), ['/c/sub/app.Dockerfile.dockerignore', '/c/.dockerignore']);
  await put('Dockerfile.dockerignore', 'src\n');
  const ctx = await open();
  assert.equal(ctx.ignoreFile, join(ctxDir, 'Dockerfile.dockerignore'));
  assert.ok(ctx.entries.some((e) => e.path === 'debug.log'));
  assert.ok(!ctx.entries.some((e) => e.path.startsWith('src')));
  await rm(join(ctxDir, 'Dockerfile.dockerignore'));
});

test('a bad pattern in .dockerignore is an error naming the file and line', async () => {
  await put('bad.dockerignore', 'ok\n  [z-\n');
  const r = await openContext({ contextDir: ctxDir, dockerfile: 'bad', hasher });
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error.message, /bad\.dockerignore:2: invalid pattern "\[z-"/);
  await rm(join(ctxDir, 'bad.dockerignore'));
});

test('selectSources: exact paths, globs per component, directories with their contents', async () => {
  const ctx = await open();
  const r = selectSources(ctx.entries, ['src/*.ts', 'src', '../a.txt', 'nope*', '*', '.', 's?c/[x]*']);
  assert.ok(r.ok);
  if (!r.ok) return;
  const [glob, dir, dotdot, none, star, root, cls] = r.value.map((sel) => sel.entries.map((e) => e.path));
  assert.deepEqual(glob, ['src/x.ts', 'src/y.ts']);
  assert.deepEqual(dir, ['src', 'src/x.ts', 'src/y.ts']);
  assert.deepEqual(dotdot, ['a.txt']);
  assert.deepEqual(none, []);
  assert.ok(star!.includes('src/x.ts') && !r.value[4]!.roots.some((e) => e.path.includes('/')));
  assert.equal(r.value[5]!.roots[0]!.entry, undefined);
  assert.equal(root!.length, ctx.entries.length);
  assert.deepEqual(cls, ['src/x.ts']);
  // A backslash escapes glob characters (BuildKit's containsWildcards): such a source is one literal path.
  assert.deepEqual([hasGlobMeta('a\\*b'), hasGlobMeta('a\\\\*'), hasGlobMeta('[ab]')], [false, true, true]);
  const bad = selectSources(ctx.entries, ['src/[']);
  assert.equal(bad.ok, false);
  // Different selections digest differently; the same selection digests the same.
  const [g, d] = r.value;
  assert.notEqual(await ctx.treeDigest(g!.entries), await ctx.treeDigest(d!.entries));
  assert.equal(await ctx.treeDigest(g!.entries), await ctx.treeDigest([...g!.entries].reverse()));
});

test('symlinks named as sources are followed inside the context only', async () => {
  await symlink('src', join(ctxDir, 'src-link'));
  await symlink('/a.txt', join(ctxDir, 'abs-link'));
  await symlink('../../../a.txt', join(ctxDir, 'src', 'up-link'));
  await symlink('loop', join(ctxDir, 'loop'));
  try {
    const ctx = await open();
    const r = selectSources(ctx.entries, ['src-link', 'abs-link', 'src-link/x.ts', 'src/up-link', 'secret-link', 'dir-link/f', 'loop', 'abs-*']);
    assert.ok(r.ok);
    if (!r.ok) return;
    const [dirLink, abs, through, up, secret, outsideDir, loop, globbed] = r.value;
    assert.deepEqual(dirLink!.roots.map((x) => [x.path, x.entry?.path]), [['src-link', 'src']]);
    assert.deepEqual(dirLink!.entries.map((e) => e.path), ['src-link', 'src', 'src/up-link', 'src/x.ts', 'src/y.ts']);
    assert.equal(abs!.roots[0]!.entry!.path, 'a.txt');
    assert.equal(through!.roots[0]!.entry!.path, 'src/x.ts');
    assert.equal(up!.roots[0]!.entry!.path, 'a.txt', '.. stops at the context root');
    // Targets outside the context resolve inside it, where they do not exist.
    assert.deepEqual([secret!.roots, secret!.dangling], [[], ['secret-link']]);
    assert.deepEqual(outsideDir!.roots, []);
    assert.deepEqual(loop!.dangling, ['loop']);
    assert.equal(globbed!.roots[0]!.entry!.path, 'a.txt');
    // The link itself is part of the digest: a link to the same file under another name differs.
    assert.notEqual(await ctx.treeDigest(abs!.entries), await ctx.treeDigest(ctx.entries.filter((e) => e.path === 'a.txt')));
  } finally {
    for (const l of ['src-link', 'abs-link', 'src/up-link', 'loop']) await rm(join(ctxDir, l));
  }
});

test('selectSources and treeRecords take a context of 250,000 entries (no argument spreading)', () => {
  const entries = Array.from({ length: 250_000 }, (_, i) => ({
    path: `d${Math.floor(i / 1000)}/f${String(i).padStart(6, '0')}`, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, size: 1, mtimeMs: 0, statSig: '',
  }));
  const r = selectSources(entries, ['.']);
  assert.ok(r.ok);
  assert.equal(r.value[0]!.entries.length, 250_000);
  const fps = new Map(entries.map((e) => [e.path, '0000000000000000' as never]));
  assert.equal(treeRecords(r.value[0]!.entries, fps).length, 250_000);
});

test('opening a context whose stat cache is missing removes the JSON one an earlier wharf left', async () => {
  const store = await mkdtemp(join(tmpdir(), 'wharf-statcache-legacy-'));
  try {
    const file = StatCache.fileFor(store, ctxDir);
    const legacy = file.replace(/\.statcache$/, '.json');
    await mkdir(join(store, 'context'), { recursive: true });
    await writeFile(legacy, '{"format":"wharf-statcache-v1","entries":{}}');
    await StatCache.open(store, ctxDir);
    await assert.rejects(stat(legacy), { code: 'ENOENT' });
  } finally {
    await rm(store, { recursive: true, force: true });
  }
});
