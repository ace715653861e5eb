/**
 * Hostile archives: every escape attempt is refused with a UserError naming the entry, and the
 * sentinel directory beside the target is byte-for-byte unchanged afterwards.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUserError } from '../../src/util/index.js';
import { BLOCK, applyLayer } from '../../src/layer/index.js';
import { Readable } from 'node:stream';
import { applyBuffer, listTree, makeTar, type SpecEntry } from './tree.js';

let tmp: string;
let target: string;
let outside: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'wharf-layer-evil-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});
beforeEach(async () => {
  target = join(tmp, 'target');
  outside = join(tmp, 'outside');
  await rm(target, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
  await mkdir(target);
  await mkdir(join(outside, 'dir'), { recursive: true });
  await writeFile(join(outside, 'victim'), 'original');
  await writeFile(join(outside, 'dir', 'keep'), 'keep');
});

async function assertOutsideUntouched(): Promise<void> {
  assert.deepEqual(await listTree(outside), ['dir/', 'dir/keep', 'victim']);
  assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'original');
  assert.equal((await lstat(join(outside, 'victim'))).nlink, 1);
}

async function assertRefused(tar: Buffer, entry: string, why: RegExp, form: 'plain' | 'overlay' = 'plain'): Promise<void> {
  await assert.rejects(applyBuffer(tar, target, form), (e: unknown) => {
    assert.ok(isUserError(e), `expected a UserError, got ${String(e)}`);
    assert.ok(e.message.includes(JSON.stringify(entry)) || entry === '', `message names the entry: ${e.message}`);
    assert.match(e.message, why);
    return true;
  });
  await assertOutsideUntouched();
}

const file = (path: string, content = 'pwned'): SpecEntry => ({ path, type: 'file', content });

test('path traversal with .. is refused', async () => {
  await assertRefused(makeTar([file('../outside/victim')]), '../outside/victim', /outside the target/);
  await assertRefused(makeTar([file('a/../../outside/victim')]), 'a/../../outside/victim', /outside the target/);
});

test('.. that stays inside the target is cleaned, as moby does', async () => {
  await applyBuffer(makeTar([file('a/../b', 'ok')]), target);
  assert.equal(await readFile(join(target, 'b'), 'utf8'), 'ok');
});

test('absolute paths are refused', async () => {
  const abs = join(outside, 'victim');
  await assertRefused(makeTar([file(abs)]), abs, /absolute paths/);
});

for (const form of ['plain', 'overlay'] as const) {
  test(`writing through a symlink that points outside is refused (${form})`, async () => {
    await assertRefused(makeTar([{ path: 'esc', type: 'symlink', linkname: '../outside' }, file('esc/victim')]), 'esc/victim', /through a symlink/, form);
    await assertRefused(
      makeTar([{ path: 'd', type: 'dir' }, { path: 'd/up', type: 'symlink', linkname: '../..' }, file('d/up/outside/victim')]),
      'd/up/outside/victim', /through a symlink/, form,
    );
    // Whiteouts and opaque markers through the same link must not delete outside either.
    await assertRefused(makeTar([{ path: 'esc', type: 'symlink', linkname: '../outside' }, file('esc/.wh.victim', '')]), 'esc/.wh.victim', /through a symlink/, form);
    await assertRefused(makeTar([{ path: 'esc', type: 'symlink', linkname: '../outside' }, file('esc/dir/.wh..wh..opq', '')]), 'esc/dir/.wh..wh..opq', /through a symlink/, form);
  });
}

test('an absolute symlink resolves inside the target, never on the host', async () => {
  await applyBuffer(makeTar([{ path: 'abs', type: 'symlink', linkname: outside }, file('abs/victim', 'inside')]), target);
  await assertOutsideUntouched();
  assert.equal(await readFile(join(target, outside, 'victim'), 'utf8'), 'inside');
});

test('a file entry replaces a symlink of the same name instead of writing through it', async () => {
  await applyBuffer(makeTar([{ path: 'ln', type: 'symlink', linkname: '../outside/victim' }, file('ln', 'replaced')]), target);
  await assertOutsideUntouched();
  assert.equal(await readFile(join(target, 'ln'), 'utf8'), 'replaced');
  // The same across layers: a later layer's file replaces an earlier layer's symlink.
  await applyBuffer(makeTar([{ path: 'ln2', type: 'symlink', linkname: join(outside, 'victim') }]), target);
  await applyBuffer(makeTar([file('ln2', 'replaced')]), target);
  await assertOutsideUntouched();
  assert.equal(await readFile(join(target, 'ln2'), 'utf8'), 'replaced');
  assert.equal(await readlink(join(target, 'ln2')).catch(() => 'not a link'), 'not a link');
});

test('hard links to outside the target are refused', async () => {
  await assertRefused(makeTar([{ path: 'hl', type: 'hardlink', linkname: '../outside/victim' }]), 'hl', /outside the target/);
  await assertRefused(makeTar([{ path: 'hl', type: 'hardlink', linkname: join(outside, 'victim') }]), 'hl', /absolute paths/);
  await assertRefused(
    makeTar([{ path: 'esc', type: 'symlink', linkname: '../outside' }, { path: 'hl', type: 'hardlink', linkname: 'esc/victim' }]),
    'hl', /through a symlink/,
  );
});

/** A header block of the given type and size (checksum fixed up), for hand-made broken archives. */
function rawHeader(name: string, typeflag: string, size: number): Buffer {
  const b = makeTar([file(name, '')]).subarray(0, BLOCK);
  b.write(size.toString(8).padStart(11, '0') + '\0', 124, 12, 'ascii');
  b.write(typeflag, 156, 1, 'ascii');
  b.write('        ', 148, 8, 'ascii');
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return b;
}

test('huge and bogus headers are refused without buffering them', async () => {
  const hugePax = Buffer.concat([rawHeader('PaxHeaders/x', 'x', 8 * 1024 ** 3), Buffer.alloc(BLOCK * 4)]);
  await assertRefused(hugePax, '', /PAX header of 8589934592 bytes is larger than/);
  const hugeGnu = Buffer.concat([rawHeader('././@LongLink', 'L', 2 ** 32), Buffer.alloc(BLOCK * 4)]);
  await assertRefused(hugeGnu, '', /GNU long name header/);
  const longPath = makeTar([file(`${'d/'.repeat(3000)}x`)]);
  await assertRefused(longPath, '', /longer than 4096 bytes/);
  const corrupt = makeTar([file('ok')]);
  corrupt[10] = 0x41; // breaks the checksum
  await assertRefused(corrupt, '', /checksum/);
  const truncated = makeTar([file('big', 'x'.repeat(5000))]).subarray(0, BLOCK + 1000);
  await assertRefused(truncated, '', /unexpected end/);
  await assertRefused(makeTar([file('.wh..')]), '.wh..', /invalid whiteout/);
  // Cut inside the last entry's padding: still an error (Go's reader says unexpected EOF too).
  const cutPadding = makeTar([file('a', 'x'.repeat(100))]).subarray(0, 2 * BLOCK - 10);
  await assertRefused(cutPadding, '', /unexpected end/);
});

test('an archive that ends right after the last entry\'s data (no padding, no end blocks) is complete, as for Go and dockerd', async () => {
  // What the docker CLI sends for a classic build with a Dockerfile from outside the context.
  const tar = makeTar([file('one', 'first\n'), file('two', 'x'.repeat(47))]).subarray(0, 3 * BLOCK + 47);
  const dir = join(target, 'unpadded');
  await applyBuffer(tar, dir);
  assert.equal(await readFile(join(dir, 'one'), 'utf8'), 'first\n');
  assert.equal(await readFile(join(dir, 'two'), 'utf8'), 'x'.repeat(47));
});

test('a source that fails after the end-of-archive marker (a digest mismatch) fails the apply', async () => {
  const tar = makeTar([file('ok', 'fine')]);
  const failing = Readable.from(
    (async function* () {
      yield tar;
      yield Buffer.alloc(BLOCK * 4); // record padding after the end marker
      throw new Error('blob sha256:abc does not match its digest');
    })(),
  );
  await assert.rejects(applyLayer(failing, target, { form: 'plain' }), /does not match its digest/);
});
