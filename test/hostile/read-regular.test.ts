/**
 * The one reader for files that an image, a context or an archive put where wharf expects a
 * regular file: a FIFO, a device, a directory, a symlink or an oversized file is a UserError
 * naming it, at once (a FIFO must not block, /dev/zero must not be read).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUserError, readRegularFile, readRegularFileSync } from '../../src/util/index.js';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'wharf-read-regular-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function refusedSync(path: string, why: RegExp, maxBytes = 1024): void {
  assert.throws(() => readRegularFileSync(path, { maxBytes, what: 'thing' }), (e: unknown) => {
    assert.ok(isUserError(e), String(e));
    assert.match(e.message, /^thing: /);
    assert.match(e.message, why);
    return true;
  });
}

async function refusedAsync(path: string, why: RegExp, maxBytes = 1024): Promise<void> {
  await assert.rejects(readRegularFile(path, { maxBytes, what: 'thing' }), (e: unknown) => {
    assert.ok(isUserError(e), String(e));
    assert.match(e.message, why);
    return true;
  });
}

test('a regular file within the cap is read whole, sync and async', async () => {
  const p = join(tmp, 'ok');
  await writeFile(p, 'hello');
  assert.equal(readRegularFileSync(p, { maxBytes: 5 }).toString(), 'hello');
  assert.equal((await readRegularFile(p, { maxBytes: 5 })).toString(), 'hello');
});

test('FIFO, device, directory, symlink and oversized files are refused without blocking', async () => {
  const fifo = join(tmp, 'fifo');
  execFileSync('mkfifo', [fifo]);
  refusedSync(fifo, /a FIFO/);
  await refusedAsync(fifo, /a FIFO/);
  refusedSync('/dev/zero', /a character device/);
  await refusedAsync('/dev/zero', /a character device/);
  const dir = join(tmp, 'dir');
  await mkdir(dir);
  refusedSync(dir, /a directory/);
  const link = join(tmp, 'link');
  await symlink('/etc/hostname', link);
  refusedSync(link, /a symlink/);
  await refusedAsync(link, /a symlink/);
  const big = join(tmp, 'big');
  await writeFile(big, Buffer.alloc(2000));
  refusedSync(big, /2000 bytes, more than the 1024 allowed/);
  await refusedAsync(big, /more than the 1024 allowed/);
});
