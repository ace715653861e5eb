// Large blobs go around the page cache (src/store/direct-write.ts), and a COPY that splices from
// such a blob reads it around the cache too (src/layer/tar-splice.ts). The bytes must be exactly
// what was written, the size exact (not padded to a block), the fsync still before the rename,
// and a file system that refuses O_DIRECT must get the same bytes the plain way.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECT_CHUNK, DirectWriter } from '../../src/store/direct-write.js';
import { DIRECT_IO_BLOCK } from '../../src/util/index.js';
import { withNativeAddon } from '../helpers/native-addon.js';
import { wharfBin } from '../helpers/paths.js';
import { wharfBuildEnv } from '../helpers/wharf-build.js';
import { FsBlobStore, openStore } from '../../src/store/index.js';
import { loadImage } from '../../src/image/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'wharf-direct-write-'));
withNativeAddon();
after(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** Writes `data` in uneven chunks through a DirectWriter; returns the file's bytes and whether it went direct. */
async function writeThrough(data: Buffer, openDirect?: (path: string) => Promise<FileHandle>): Promise<{ bytes: Buffer; direct: boolean }> {
  const path = join(tmp, `blob-${n++}`);
  const plain = await open(path, 'wx', 0o644);
  const w = DirectWriter.create(path, plain, 0, openDirect);
  assert.ok(w, 'the addon makes aligned buffers');
  let direct = false;
  try {
    for (let off = 0, step = 1; off < data.length; step = (step * 7 + 13) % 700_000) {
      const chunk = Buffer.from(data.subarray(off, off + step + 1)); // a copy, overwritten below
      await w.write(chunk);
      chunk.fill(0xee); // the writer copied it: the file must not see this
      off += step + 1;
      direct ||= w.direct;
    }
    await w.finish();
    await plain.sync();
  } finally {
    await w.close();
    await plain.close();
  }
  return { bytes: readFileSync(path), direct };
}

test('blobs of every size around the buffer and block sizes come out byte for byte, direct once a buffer fills', async () => {
  for (const size of [0, 1, DIRECT_IO_BLOCK - 1, DIRECT_IO_BLOCK + 1, DIRECT_CHUNK - 1, DIRECT_CHUNK, DIRECT_CHUNK + 1, 3 * DIRECT_CHUNK + DIRECT_IO_BLOCK + 511, 9 * DIRECT_CHUNK]) {
    const data = randomBytes(size);
    const { bytes, direct } = await writeThrough(data);
    assert.equal(bytes.length, size, `size ${size}: not padded`);
    assert.ok(bytes.equals(data), `size ${size}: the same bytes`);
    assert.equal(direct, size >= DIRECT_CHUNK, `size ${size}: around the page cache only once a buffer filled`);
  }
});

test('the blob writer writes the first 4 MiB the plain way and hands the rest over, wherever a chunk crosses', async () => {
  const store = new FsBlobStore(join(tmp, 'handover'));
  for (const [size, step] of [[DIRECT_CHUNK - 1, 65_536], [DIRECT_CHUNK, DIRECT_CHUNK], [DIRECT_CHUNK + 1, 1_000_003], [2 * DIRECT_CHUNK + 777, 3 * DIRECT_CHUNK], [3 * DIRECT_CHUNK, 4096]] as const) {
    const data = randomBytes(size);
    const w = await store.writer();
    for (let off = 0; off < size; off += step) await w.write(data.subarray(off, off + step));
    const { digest, size: stored } = await w.commit();
    assert.equal(digest, `sha256:${createHash('sha256').update(data).digest('hex')}`, `size ${size}, chunks of ${step}`);
    assert.equal(stored, size);
    assert.ok(readFileSync(store.path(digest)).equals(data), `size ${size}, chunks of ${step}: the bytes`);
  }
});

test('a file system that refuses O_DIRECT at open, or at a write, gets the same bytes the plain way', async () => {
  const data = randomBytes(3 * DIRECT_CHUNK + 1234);
  const refused = await writeThrough(data, async () => {
    throw Object.assign(new Error('open: Invalid argument'), { code: 'EINVAL' });
  });
  assert.equal(refused.direct, false);
  assert.ok(refused.bytes.equals(data));

  // Accepted at open, EINVAL at every write (what some file systems do): each buffer is written again.
  let refusedWrites = 0;
  const onWrite = await writeThrough(data, async (path) => {
    const fh = await open(path, 'r+');
    return new Proxy(fh, {
      get(target, prop, receiver) {
        if (prop === 'write') {
          return async () => {
            refusedWrites++;
            throw Object.assign(new Error('write: Invalid argument'), { code: 'EINVAL' });
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  });
  assert.ok(refusedWrites >= 1, 'the direct descriptor was tried');
  assert.ok(onWrite.bytes.equals(data), 'and every byte arrived the plain way');
});

test('a build writes its large layer through O_DIRECT, fsynced before the rename; a change splices it back through O_DIRECT; both equal a full copy', async () => {
  assert.equal(spawnSync('strace', ['-V']).status, 0, 'strace is installed (scripts/ensure-host-packages.sh)');
  const env = wharfBuildEnv(join(tmp, 'build'));
  env.importBusybox();
  const ctx = join(tmp, 'ctx');
  mkdirSync(join(ctx, 'big'), { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox:test\nCOPY big /big\n');
  // 12 MB in files large and small: more than one read window (8 MB) and several write buffers.
  for (let i = 0; i < 10; i++) writeFileSync(join(ctx, 'big', `large-${i}.bin`), randomBytes(1_000_000 + i * 4099));
  for (let i = 0; i < 300; i++) writeFileSync(join(ctx, 'big', `small-${String(i).padStart(3, '0')}.txt`), randomBytes(100 + ((i * 977) % 7000)));
  const trace = join(tmp, 'trace');
  const build = (tag: string, ...extra: string[]) => {
    const r = spawnSync('strace', ['-f', '-e', 'trace=openat,fsync,rename,renameat,renameat2', '-o', trace,
      process.execPath, wharfBin, '--root', env.root, 'build', '--network', 'none', '-t', tag, ...extra, '--build-arg', 'SOURCE_DATE_EPOCH=1000000', ctx], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return { stderr: r.stderr, lines: readFileSync(trace, 'utf8').split('\n') };
  };
  const blobDir = join(env.root, 'blobs', 'sha256');
  const layerOf = async (tag: string) => (await loadImage(await openStore(env.root), tag)).manifest.layers.at(-1)!;

  const first = build('direct:1');
  const layer1 = await layerOf('direct:1');
  const blob1 = join(blobDir, layer1.digest.slice('sha256:'.length));
  assert.equal(statSync(blob1).size, layer1.size, 'the blob is its descriptor size, not padded');
  assert.equal(`sha256:${createHash('sha256').update(readFileSync(blob1)).digest('hex')}`, layer1.digest, 'the blob hashes to its name');
  // The temp file the layer was written to: opened with O_DIRECT, fsynced, then renamed to its name.
  const rename = first.lines.find((l) => /rename/.test(l) && l.includes(blob1));
  assert.ok(rename, 'the layer blob was renamed into place');
  const tmpPath = /"([^"]+)"/.exec(rename)![1]!;
  const opens = first.lines.filter((l) => l.includes('openat') && l.includes(`"${tmpPath}"`));
  assert.ok(opens.some((l) => l.includes('O_DIRECT')), `the layer went around the page cache:\n${opens.join('\n')}`);
  const fds = opens.map((l) => /= (\d+)$/.exec(l)?.[1]).filter(Boolean);
  const renameAt = first.lines.indexOf(rename);
  assert.ok(first.lines.slice(0, renameAt).some((l) => fds.some((fd) => new RegExp(`fsync\\(${fd}\\)\\s+= 0`).test(l))), 'fsynced before its rename');

  writeFileSync(join(ctx, 'big', 'small-150.txt'), 'changed\n');
  const second = build('direct:2');
  assert.match(second.stderr, /straight from its layer/);
  assert.ok(second.lines.some((l) => l.includes(`"${blob1}"`) && l.includes('O_DIRECT')), 'the splice read the earlier blob around the page cache');
  build('direct:full', '--no-cache');
  assert.equal((await layerOf('direct:2')).digest, (await layerOf('direct:full')).digest, 'the spliced layer is the full copy, byte for byte');
});
