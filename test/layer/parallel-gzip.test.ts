import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { GZIP_BLOCK, parallelGzip } from '../../src/layer/parallel-gzip.js';

async function compress(chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), parallelGzip(), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

/** Offsets of gzip member headers (1f 8b 08) that start a member, walking member by member. */
function memberCount(gz: Buffer): number {
  let n = 0;
  for (let i = 0; i + 2 < gz.length; i++) if (gz[i] === 0x1f && gz[i + 1] === 0x8b && gz[i + 2] === 0x08) n++;
  return n;
}

test('blocks are compressed as members that decompress, in order, to the input', async () => {
  // Uneven chunks, text and random bytes, across several blocks.
  const text = Buffer.from('wharf layer line\n'.repeat(200_000));
  const noise = randomBytes(GZIP_BLOCK + 12345);
  const input = Buffer.concat([text, noise, text.subarray(0, 777)]);
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += 300_001) chunks.push(input.subarray(i, i + 300_001));
  const gz = await compress(chunks);
  assert.ok(memberCount(gz) >= Math.floor(input.length / GZIP_BLOCK), 'one member per block');
  assert.ok(gunzipSync(gz).equals(input), 'zlib reads the members as one stream');
  const gnu = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(gnu.status, 0, String(gnu.stderr));
  assert.ok(gnu.stdout.equals(input), 'GNU gzip reads the members as one stream');
});

test('empty input is still a valid (empty) gzip file', async () => {
  const gz = await compress([]);
  assert.equal(gz[0], 0x1f);
  assert.equal(gunzipSync(gz).length, 0);
});
