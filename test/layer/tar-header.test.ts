/** Header encoding edge cases that a directory walk in a test cannot reach cheaply. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK, decodeHeader, encodeHeader } from '../../src/layer/index.js';
import { parsePax } from '../../src/layer/tar-header.js';

test('sizes beyond 8 GiB and ids beyond 7 octal digits go through PAX and decode back', () => {
  const size = 10 * 1024 ** 3 + 3;
  const bytes = encodeHeader({ path: 'huge.img', type: 'file', mode: 0o640, uid: 4_000_000_000, gid: 7, size, mtime: 1_600_000_000 });
  const pax = decodeHeader(bytes.subarray(0, BLOCK));
  assert.ok(pax.kind === 'header' && pax.header.typeflag === 'x');
  const records = parsePax(bytes.subarray(BLOCK, BLOCK + pax.header.size))!;
  assert.equal(records.get('size')!.toString(), String(size));
  assert.equal(records.get('uid')!.toString(), '4000000000');
  assert.equal(records.has('gid'), false);
  const main = decodeHeader(bytes.subarray(bytes.length - BLOCK));
  assert.ok(main.kind === 'header');
  assert.deepEqual([main.header.name, main.header.gid, main.header.mode, main.header.mtime], ['huge.img', 7, 0o640, 1_600_000_000]);
});

test('PAX record lengths count their own digits (the 9 → 10 and 99 → 100 boundaries)', () => {
  for (let n = 0; n < 300; n++) {
    const bytes = encodeHeader({ path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, xattrs: new Map([['user.a', Buffer.alloc(n, 0x61)]]) });
    const h = decodeHeader(bytes.subarray(0, BLOCK));
    assert.ok(h.kind === 'header');
    const records = parsePax(bytes.subarray(BLOCK, BLOCK + h.header.size));
    assert.ok(records, `value of ${n} bytes`);
    assert.equal(records.get('SCHILY.xattr.user.a')!.length, n);
  }
});
