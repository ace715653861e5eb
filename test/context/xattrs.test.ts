/**
 * Extended attributes in the context fingerprint (issue 19): the carried ones (user.*,
 * security.capability) are in the tree records and digest, the stat cache keeps them (setting one
 * changes ctime, so a cached file has the ones it had), and the addon and the getfattr fallback
 * agree. Needs root for security.capability.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadXxh64, type Xxh64Hasher } from '../../src/hash/index.js';
import { diffTreeRecords, openContext, type BuildContext } from '../../src/context/index.js';
import { diffXattrSummaries, setNativeAddon, xattrSummary, xattrsReadInProcess, type NativeAddon } from '../../src/util/index.js';
import { requireRoot } from '../helpers/busybox.js';

const addonPath = fileURLToPath(new URL('../../native/wharf_native.node', import.meta.url));
let base: string;
let hasher: Xxh64Hasher;

before(async () => {
  requireRoot();
  hasher = await loadXxh64();
  base = await mkdtemp(join(tmpdir(), 'wharf-ctx-xattrs-'));
});
after(async () => {
  setNativeAddon(undefined);
  if (base) await rm(base, { recursive: true, force: true });
});

async function open(ctxDir: string, storeRoot: string): Promise<BuildContext> {
  const r = await openContext({ contextDir: ctxDir, dockerfile: 'Dockerfile', storeRoot, hasher });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

for (const mode of ['addon', 'getfattr'] as const) {
  test(`${mode}: attributes are in the records and digest, from the stat cache when ctime is unchanged`, async () => {
    if (mode === 'addon') setNativeAddon(() => createRequire(addonPath)(addonPath) as NativeAddon);
    else setNativeAddon(undefined);
    assert.equal(xattrsReadInProcess(), mode === 'addon');
    const ctxDir = join(base, mode, 'ctx');
    const storeRoot = join(base, mode, 'store');
    await mkdir(ctxDir, { recursive: true });
    const old = new Date(Date.now() - 3600_000);
    for (const f of ['Dockerfile', 'a', 'b', 'ignored']) {
      await writeFile(join(ctxDir, f), `${f}\n`);
      await utimes(join(ctxDir, f), old, old);
    }
    await writeFile(join(ctxDir, '.dockerignore'), 'ignored\n');
    await utimes(join(ctxDir, '.dockerignore'), old, old);
    const plain = await open(ctxDir, storeRoot);
    const plainDigest = await plain.treeDigest(plain.entries);
    const plainRecords = await plain.treeRecords(plain.entries);
    await plain.close();
    assert.ok(plainRecords.every((r) => !('xattrs' in r)), 'files without attributes have no xattrs field');

    execFileSync('setfattr', ['-n', 'user.note', '-v', 'x', join(ctxDir, 'a')]);
    execFileSync('setfattr', ['-n', 'security.capability', '-v', '0x0100000200200000000000000000000000000000', join(ctxDir, 'a')]);
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'x', join(ctxDir, 'ignored')]);
    const first = await open(ctxDir, storeRoot);
    const records = await first.treeRecords(first.entries);
    await first.close();
    assert.equal(first.counters.filesRead, 1, 'only the file whose ctime changed is read again');
    const a = records.find((r) => r.path === 'a')!;
    assert.match(a.xattrs ?? '', /^security\.capability=h[0-9a-f]{32},user\.note=vx$/);
    assert.ok(!records.some((r) => r.path === 'ignored'));
    assert.notEqual(await first.treeDigest(first.entries), plainDigest);
    assert.deepEqual(diffTreeRecords(plainRecords, records), [{ path: 'a', change: 'metadata', detail: 'xattrs: security.capability added, user.note added' }]);

    const cached = await open(ctxDir, storeRoot);
    const again = await cached.treeRecords(cached.entries);
    await cached.close();
    assert.equal(cached.counters.filesRead, 0, 'every file from the stat cache');
    assert.deepEqual(again, records, 'the stat cache keeps the attributes');

    execFileSync('setfattr', ['-x', 'user.note', join(ctxDir, 'a')]);
    const removed = await open(ctxDir, storeRoot);
    const after = await removed.treeRecords(removed.entries);
    await removed.close();
    assert.equal(removed.counters.filesRead, 1);
    assert.deepEqual(diffTreeRecords(records, after), [{ path: 'a', change: 'metadata', detail: 'xattrs: user.note removed' }]);
  });
}

test('summaries keep only carried attributes and show only short printable non-security values', () => {
  const s = xattrSummary(new Map([
    ['user.b', Buffer.from('a,b=c')],
    ['security.selinux', Buffer.from('system_u:object_r:foo_t:s0')],
    ['trusted.overlay.opaque', Buffer.from('y')],
    ['user.bin', Buffer.from([0, 1, 2])],
  ]));
  assert.match(s, /^user\.b=va%2Cb%3Dc,user\.bin=h[0-9a-f]{32}$/);
  assert.equal(xattrSummary(undefined), '');
  const changed = xattrSummary(new Map([['user.b', Buffer.from('d')], ['user.bin', Buffer.from([3])]]));
  assert.deepEqual(diffXattrSummaries(s, changed), ['user.b changed ("a,b=c" → "d")', 'user.bin changed']);
});
