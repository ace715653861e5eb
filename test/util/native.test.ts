/**
 * The native addon (native/wharf_native.c, built by `npm run build`) against the programs it
 * replaces: an overlay it mounts behaves as one `mount` makes, umount leaves nothing in
 * /proc/self/mountinfo, the xattrs it reads are exactly what getfattr reports, and a context walk
 * through it lists exactly what Node's own lstat lists, as a layer tar written through it does,
 * and a blob hashed on the thread pool gets the digest Node's crypto gives (needs root).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeAddon, setNativeAddon, type NativeAddon } from '../../src/util/index.js';
import { isMountPoint, unmountReliably } from '../../src/snapshot/overlay.js';
import { mountOverlay } from '../../src/snapshot/index.js';
import { layerTarStream, readTreeXattrs } from '../../src/layer/index.js';
import { walkContext } from '../../src/context/index.js';
import { openStore } from '../../src/store/index.js';
import { PooledSha256 } from '../../src/hash/index.js';
import { createHash, randomBytes } from 'node:crypto';
import { requireRoot } from '../helpers/busybox.js';

const addonPath = fileURLToPath(new URL('../../native/wharf_native.node', import.meta.url));
let tmp: string;
before(async () => {
  requireRoot();
  tmp = await mkdtemp(join(tmpdir(), 'wharf-native-'));
});
after(async () => {
  setNativeAddon(undefined);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const useAddon = () => setNativeAddon(() => createRequire(addonPath)(addonPath) as NativeAddon);

test('the build made the addon and it loads', () => {
  assert.ok(existsSync(addonPath), `${addonPath} is missing: npm run build compiles it with cc`);
  useAddon();
  assert.equal(typeof nativeAddon()?.mountOverlay, 'function');
});

test('an overlay mounted through the addon takes writes into its upper dir and unmounts without a trace', async () => {
  useAddon();
  const lower = join(tmp, 'lower');
  await mkdir(join(lower, 'etc'), { recursive: true });
  await writeFile(join(lower, 'etc', 'base'), 'base\n');
  const m = await mountOverlay({ lowers: [lower], upper: join(tmp, 'upper'), target: join(tmp, 'merged') });
  assert.ok(await isMountPoint(m.target));
  assert.equal(await readFile(join(m.target, 'etc', 'base'), 'utf8'), 'base\n');
  await writeFile(join(m.target, 'etc', 'new'), 'new\n');
  await m.unmount();
  assert.equal(await isMountPoint(m.target), false);
  assert.equal(await readFile(join(tmp, 'upper', 'etc', 'new'), 'utf8'), 'new\n');
  // Not a mount point (any more): nothing to do, no error.
  await unmountReliably(join(tmp, 'upper'));
  // A failing mount names the reason.
  await assert.rejects(mountOverlay({ lowers: [join(tmp, 'nonexistent')], upper: join(tmp, 'u2'), target: join(tmp, 'm2') }), /cannot mount overlay on .*: mount overlay: No such file or directory/);
});

test('xattrs read through the addon are the ones getfattr reads', async () => {
  const tree = join(tmp, 'tree');
  await mkdir(join(tree, 'a', 'b'), { recursive: true });
  await writeFile(join(tree, 'a', 'file'), 'x');
  await writeFile(join(tree, 'plain'), 'y');
  await symlink('a/file', join(tree, 'link'));
  execFileSync('setfattr', ['-n', 'user.note', '-v', 'hello', join(tree, 'a', 'file')]);
  execFileSync('setfattr', ['-n', 'user.bin', '-v', '0x00ff10', join(tree, 'a', 'file')]);
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(tree, 'a', 'b')]);
  execFileSync('setfattr', ['-n', 'user.top', '-v', 'root', tree]);
  setNativeAddon(undefined);
  const viaGetfattr = await readTreeXattrs(tree);
  useAddon();
  const viaAddon = await readTreeXattrs(tree);
  assert.deepEqual(viaAddon, viaGetfattr);
  assert.deepEqual([...viaAddon.keys()].sort(), ['', 'a/b', 'a/file']);
  assert.deepEqual(viaAddon.get('a/file')?.get('user.bin'), Buffer.from([0, 0xff, 0x10]));
});

test('a context walk through the addon lists the same entries, in the same order, as one through lstat', async () => {
  const ctx = join(tmp, 'ctx');
  // Names whose bytewise order differs from a plain sort: '.' and '-' sort before '/', upper case
  // before lower, and a 4-byte UTF-8 name after a 2-byte one (UTF-16 sorts them the other way).
  for (const dir of ['a', 'a/b', 'B', 'é', '\u{1F600}', 'ﬀ']) await mkdir(join(ctx, dir), { recursive: true });
  for (const file of ['a.txt', 'a-b', 'a/b/deep', 'a/z', 'B/x', 'é/y', '\u{1F600}/w', 'ﬀ/v']) await writeFile(join(ctx, file), file);
  await writeFile(join(ctx, 'run.sh'), '#!/bin/sh\n');
  await chmod(join(ctx, 'run.sh'), 0o755);
  await utimes(join(ctx, 'a.txt'), 1_000_000, 1_000_000.5);
  await symlink('a/z', join(ctx, 'link'));
  await symlink('/nowhere', join(ctx, 'a', 'dangling'));
  execFileSync('mkfifo', [join(ctx, 'fifo')]);
  setNativeAddon(undefined);
  const viaLstat = await walkContext(ctx);
  useAddon();
  const viaAddon = await walkContext(ctx);
  assert.deepEqual(viaAddon, viaLstat);
  assert.deepEqual(
    viaAddon.map((e) => e.path),
    ['B', 'B/x', 'a', 'a/b', 'a/b/deep', 'a/dangling', 'a/z', 'a-b', 'a.txt', 'fifo', 'link', 'run.sh', 'é', 'é/y', 'ﬀ', 'ﬀ/v', '\u{1F600}', '\u{1F600}/w'],
  );
  const byPath = new Map(viaAddon.map((e) => [e.path, e]));
  assert.equal(byPath.get('fifo')?.type, 'other');
  assert.deepEqual([byPath.get('link')?.type, byPath.get('link')?.linkTarget], ['symlink', 'a/z']);
  assert.equal(byPath.get('run.sh')?.mode, 0o755);
  assert.equal(byPath.get('a.txt')?.mtimeMs, 1_000_000_500);
  assert.match(byPath.get('a.txt')!.statSig, /^5:1000000\.500000000:\d+\.\d+:\d+:33188$/);
});

test('a layer tar written through the addon is byte for byte the one written through lstat', async () => {
  const upper = join(tmp, 'tar-upper');
  await mkdir(join(upper, 'etc', 'sub'), { recursive: true });
  await writeFile(join(upper, 'etc', 'a'), 'a\n');
  await writeFile(join(upper, 'etc', 'big'), Buffer.alloc(300 * 1024, 7));
  execFileSync('ln', [join(upper, 'etc', 'a'), join(upper, 'etc', 'hard')]);
  await symlink('../etc/a', join(upper, 'etc', 'sub', 'link'));
  execFileSync('mkfifo', [join(upper, 'fifo')]);
  execFileSync('mknod', [join(upper, 'gone'), 'c', '0', '0']); // an overlay whiteout
  execFileSync('mknod', [join(upper, 'tty'), 'c', '5', '0']);
  await utimes(join(upper, 'etc', 'a'), 1_700_000_000.75, 1_700_000_000.75);
  // UTF-16 order puts the emoji (a surrogate pair) first; byte order, which tar layers use, last.
  for (const name of ['\u{1F600}', 'ﬀ', 'z']) await writeFile(join(upper, 'etc', 'sub', name), name);
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, 'etc', 'sub')]);
  const tar = async () => Buffer.concat(await layerTarStream(upper, { form: 'overlay' }).toArray());
  setNativeAddon(undefined);
  const viaLstat = await tar();
  useAddon();
  const viaAddon = await tar();
  assert.ok(viaAddon.equals(viaLstat), 'the two tars differ');
  const listing = execFileSync('tar', ['-tv', '--numeric-owner'], { input: viaAddon, encoding: 'utf8' });
  assert.match(listing, /^h.* etc\/hard link to etc\/a$/m);
  assert.match(listing, /^-.* \.wh\.gone$/m);
  assert.match(listing, /^c.* 5,0 .*tty$/m);
  assert.match(listing, /etc\/sub\/\.wh\.\.wh\.\.opq$/m);
  const names = execFileSync('tar', ['-t'], { input: viaAddon, encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('etc/sub/') && l !== 'etc/sub/' && !l.includes('.wh.') && !l.endsWith('link'));
  assert.deepEqual(names, ['etc/sub/z', 'etc/sub/ﬀ', 'etc/sub/\u{1F600}']);

  // A name that is not UTF-8 is named in the error, as without the addon.
  const bad = join(tmp, 'tar-bad');
  await mkdir(bad);
  await writeFile(Buffer.concat([Buffer.from(`${bad}/x`), Buffer.from([0xff])]), '');
  await assert.rejects(async () => layerTarStream(bad, { form: 'plain' }).toArray(), /x\\xff in a layer: its name is not valid UTF-8/);
});

test('a blob hashed on the thread pool through the addon has the digest and bytes Node\'s crypto gives', async () => {
  const chunks = [Buffer.alloc(0), Buffer.from('layer'), randomBytes(5 << 20), randomBytes(1234), randomBytes(300 * 1024)];
  const whole = Buffer.concat(chunks);
  const expected = `sha256:${createHash('sha256').update(whole).digest('hex')}`;
  for (const withAddon of [true, false]) {
    if (withAddon) useAddon();
    else setNativeAddon(undefined);
    assert.equal(PooledSha256.create() !== undefined, withAddon);
    const store = await openStore(join(tmp, `blobs-${withAddon}`));
    const w = await store.writer();
    for (const c of chunks) await w.write(c);
    const { digest, size } = await w.commit();
    assert.deepEqual([digest, size], [expected, whole.length]);
    assert.ok((await readFile(store.path(digest))).equals(whole));
  }
  // A digest that does not match the expected one is refused and leaves no blob.
  useAddon();
  const store = await openStore(join(tmp, 'blobs-mismatch'));
  const w = await store.writer();
  await w.write(Buffer.from('x'));
  await assert.rejects(w.commit(`sha256:${'0'.repeat(64)}` as never), /does not match its expected digest/);
  await w.abort();
  assert.equal(await store.has(`sha256:${createHash('sha256').update('x').digest('hex')}` as never), false);
});

test('spawnDetached: a process in a session of its own, /dev/null for stdio, no other descriptor, default signals, reaped by the addon', async () => {
  useAddon();
  const native = nativeAddon()!;
  assert.equal(typeof native.spawnDetached, 'function', 'the build made the addon with spawnDetached');
  const out = join(tmp, 'detached.txt');
  const script = [
    'ls -l /proc/$$/fd/ > "$1.fds"', // the shell's own, listed by a child
    'grep -E "^(SigIgn|SigBlk)" /proc/self/status > "$1.sig"',
    'echo "$(cut -d" " -f6 /proc/self/stat) $$" > "$1.sid"',
    'mv "$1.fds" "$1"',
  ].join('\n');
  const pid = native.spawnDetached!(['sh', '-c', script, 'sh', out]);
  assert.ok(pid > 0);
  for (let i = 0; i < 200 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 10));
  const fds = [...(await readFile(out, 'utf8')).matchAll(/ (\d+) -> (.*)$/gm)].map((m) => [m[1]!, m[2]!] as const);
  // sh redirects its own stdout to the list (keeping the old one aside): every other is /dev/null.
  assert.deepEqual(fds.filter(([, t]) => t !== '/dev/null' && !t.endsWith('.fds')), [], `no descriptor of Node's: ${JSON.stringify(fds)}`);
  assert.deepEqual(fds.filter(([fd]) => fd === '0' || fd === '2').map(([, t]) => t), ['/dev/null', '/dev/null']);
  const [sid, shPid] = (await readFile(`${out}.sid`, 'utf8')).trim().split(' ');
  assert.equal(sid, shPid, 'the session leader');
  const sig = await readFile(`${out}.sig`, 'utf8');
  assert.match(sig, /SigBlk:\s+0+\n/, 'nothing blocked');
  // Node ignores SIGPIPE and SIGXFSZ; the child has them back. (glibc's internal 32 and 33 are
  // left ignored by its posix_spawn: no program relies on them.)
  const ignored = BigInt(`0x${/SigIgn:\s+([0-9a-f]+)/.exec(sig)![1]}`);
  assert.equal(ignored & ((1n << 12n) | (1n << 24n)), 0n, sig);
  // Reaped: no zombie left behind under this process.
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(existsSync(`/proc/${pid}`), false, 'the addon reaped it');
  assert.throws(() => native.spawnDetached!(['/no/such/program']), /spawnDetached/);
});
