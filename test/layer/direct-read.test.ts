// Reads around the page cache with a window read ahead (src/layer/direct-read.ts): whatever the
// order and size of the requests, and whether or not the read ahead has finished, every request
// gets exactly the file's bytes there, and nothing past its end.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { DirectReader, WINDOW } from '../../src/layer/direct-read.js';
import { withNativeAddon } from '../helpers/native-addon.js';

const tmp = mkdtempSync(join(tmpdir(), 'wharf-direct-read-'));
withNativeAddon();
after(() => rmSync(tmp, { recursive: true, force: true }));

test('forward, straddling, backward and past-the-end requests get the file bytes, read ahead finished or not', async () => {
  // A tar-like size: a multiple of 512, not of the 4096-byte block.
  const data = randomBytes(3 * WINDOW + 5 * 512);
  const path = join(tmp, 'blob');
  writeFileSync(path, data);
  const r = DirectReader.open(path);
  assert.ok(r, 'the file system takes O_DIRECT here');
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  try {
    let at = 0;
    let straddled = 0;
    for (let i = 0; at < data.length; i++) {
      const length = 512 * (1 + rnd(2048)); // up to 1 MB, as the splice asks
      const got: Buffer | undefined = r.read(at, length);
      if (at + length > data.length) assert.equal(got, undefined, `past the end at ${at}+${length}`);
      else assert.ok(got?.equals(data.subarray(at, at + length)), `bytes at ${at}+${length}`);
      if (Math.floor(at / WINDOW) !== Math.floor((at + length - 1) / WINDOW)) straddled++;
      // Sometimes the read ahead has time to finish, sometimes not; sometimes a jump back.
      if (rnd(3) === 0) await turn();
      at = rnd(10) === 0 ? Math.max(0, at - 512 * rnd(4096)) : at + length + 512 * rnd(3);
    }
    assert.ok(straddled > 3, 'requests ran across window ends');
    const last = r.read(data.length - 512, 512);
    assert.ok(last?.equals(data.subarray(data.length - 512)), 'the last block');
  } finally {
    r.close();
  }
});

test('a read ahead left from before a jump back is not taken for the window after the new one', async () => {
  const data = randomBytes(4 * WINDOW + 512);
  const path = join(tmp, 'jump');
  writeFileSync(path, data);
  const r = DirectReader.open(path)!;
  try {
    assert.ok(r.read(2 * WINDOW, 512)?.equals(data.subarray(2 * WINDOW, 2 * WINDOW + 512)));
    // Back to the start before the window at 3 windows is read: that read goes on meanwhile.
    assert.ok(r.read(0, 512)?.equals(data.subarray(0, 512)));
    for (let i = 0; i < 20; i++) await turn();
    // Across the end of the first window: the window after it, not the one at 3 windows.
    const across = r.read(WINDOW - 256, 512);
    assert.ok(across?.equals(data.subarray(WINDOW - 256, WINDOW + 256)), 'the bytes across the first window end');
  } finally {
    r.close();
  }
});
