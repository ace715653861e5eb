/**
 * Layer commit throughput: wharf's writeLayer (deterministic tar + sha256 diff_id + gzip + blob
 * digest, one pass) against `tar -c | gzip | sha256sum` on the same generated tree, same run; and
 * uncompressed (what `wharf build` stores by default) against `tar -c | sha256sum`.
 *
 *   node dist/bench/layer-commit.js [--size-mb 1024] [--runs 1] [--dir PATH] [--keep]
 *
 * The tree mixes file sizes (many small, some medium, a few large) and content that compresses
 * like real binaries and text do (half random, half repetitive).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sha256Stream } from '../src/hash/index.js';
import { writeLayer } from '../src/layer/index.js';
import type { BlobWriter } from '../src/store/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i !== -1 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** Deterministic pseudo-random sizes so runs are comparable. */
function* sizes(total: number): Generator<number> {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let sum = 0;
  while (sum < total) {
    const r = rnd();
    const size = r < 0.7 ? Math.floor(rnd() * 16_384) : r < 0.97 ? 65_536 + Math.floor(rnd() * 960_000) : 4_000_000 + Math.floor(rnd() * 28_000_000);
    const s = Math.min(size, total - sum);
    sum += s;
    yield s;
  }
}

async function generate(dir: string, totalBytes: number): Promise<{ files: number; bytes: number }> {
  const text = Buffer.from('the quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet\n'.repeat(30_000));
  const pool = Buffer.concat([randomBytes(text.length), text]);
  let files = 0;
  let bytes = 0;
  for (const size of sizes(totalBytes)) {
    const sub = join(dir, `d${files % 37}`, `e${files % 11}`);
    if (files < 37 * 11) await mkdir(sub, { recursive: true });
    const fh = await open(join(sub, `f${files}.bin`), 'w');
    for (let left = size, off = (files * 7919) % (pool.length / 2); left > 0; ) {
      const n = Math.min(left, pool.length - off);
      await fh.write(pool, off, n);
      left -= n;
      off = 0;
    }
    await fh.close();
    files++;
    bytes += size;
  }
  return { files, bytes };
}

/** A blob sink that writes to a file and hashes, like the store's writer without the rename. */
function fileSink(path: string): { writer(): Promise<BlobWriter> } {
  return {
    async writer() {
      const fh = await open(path, 'w');
      const hash = new Sha256Stream();
      return {
        async write(chunk) {
          hash.update(chunk);
          await fh.write(chunk);
        },
        async commit() {
          await fh.close();
          return { digest: hash.digest(), size: hash.size };
        },
        async abort() {
          await fh.close().catch(() => undefined);
        },
      };
    },
  };
}

async function main(): Promise<void> {
  const sizeMb = Number(arg('size-mb', '1024'));
  const runs = Number(arg('runs', '1'));
  const base = arg('dir', '') || (await mkdtemp(join(tmpdir(), 'wharf-bench-layer-')));
  const tree = join(base, 'tree');
  await rm(tree, { recursive: true, force: true });
  const { files, bytes } = await generate(tree, sizeMb * 1024 * 1024);
  const mb = bytes / 1024 / 1024;
  process.stdout.write(`tree: ${files} files, ${mb.toFixed(0)} MB\n`);
  try {
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      const out = execFileSync('bash', ['-c', 'set -o pipefail; tar -c -C "$1" . | gzip | sha256sum', 'bench', tree]).toString().trim();
      const refSecs = (performance.now() - t) / 1000;
      t = performance.now();
      const res = await writeLayer(tree, { form: 'plain', compression: 'gzip', sourceDateEpoch: 0 }, fileSink(join(base, 'layer.tar.gz')));
      const ourSecs = (performance.now() - t) / 1000;
      process.stdout.write(
        `run ${i + 1}: tar|gzip|sha256sum ${(mb / refSecs).toFixed(1)} MB/s (${refSecs.toFixed(2)} s, ${out.slice(0, 12)})  ` +
          `wharf writeLayer ${(mb / ourSecs).toFixed(1)} MB/s (${ourSecs.toFixed(2)} s, ${res.size} bytes, diff_id ${res.diffId.slice(0, 19)})  ` +
          `ratio ${(refSecs / ourSecs).toFixed(2)}x\n`,
      );
      // Uncompressed, as `wharf build` stores layers by default: tar + one sha256 pass.
      t = performance.now();
      execFileSync('bash', ['-c', 'set -o pipefail; tar -c -C "$1" . | sha256sum', 'bench', tree]);
      const refPlain = (performance.now() - t) / 1000;
      t = performance.now();
      await writeLayer(tree, { form: 'plain', compression: 'none', sourceDateEpoch: 0 }, fileSink(join(base, 'layer.tar')));
      const ourPlain = (performance.now() - t) / 1000;
      process.stdout.write(
        `run ${i + 1} uncompressed: tar|sha256sum ${(mb / refPlain).toFixed(1)} MB/s (${refPlain.toFixed(2)} s)  ` +
          `wharf writeLayer ${(mb / ourPlain).toFixed(1)} MB/s (${ourPlain.toFixed(2)} s)  ratio ${(refPlain / ourPlain).toFixed(2)}x\n`,
      );
    }
  } finally {
    if (!process.argv.includes('--keep')) await rm(base, { recursive: true, force: true });
  }
}

await main();
