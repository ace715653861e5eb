/**
 * Context fingerprinting on a generated tree of 10k files (100 dirs, 1–16 KB files plus a few of
 * 4 MB): the walk, a cold pass (every file read and hashed) and a warm pass (everything served by
 * the stat cache), as files/s and MB/s. The warm pass must read 0 files.
 *
 *   npx tsc -p . && node dist/bench/context.js
 */
import { performance } from 'node:perf_hooks';
import { mkdtemp, mkdir, writeFile, utimes, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadXxh64 } from '../src/hash/index.js';
import { openContext, type BuildContext } from '../src/context/index.js';
import { useShippedAddon } from './addon.js';

// The walk lists directories through the addon, as the CLI's does.
useShippedAddon();

const FILES = 10_000;
const base = await mkdtemp(join(tmpdir(), 'wharf-bench-context-'));
const ctxDir = join(base, 'ctx');
try {
  // Old mtimes: files fresher than the racy margin would (rightly) be hashed again on the warm pass.
  const old = new Date(Date.now() - 3600_000);
  let bytes = 0;
  for (let d = 0; d < 100; d++) {
    const dir = join(ctxDir, `pkg${d}`, 'src');
    await mkdir(dir, { recursive: true });
    await Promise.all(
      Array.from({ length: FILES / 100 }, async (_, i) => {
        const size = d % 50 === 0 && i === 0 ? 4 << 20 : 1024 * (1 + ((d * 31 + i * 7) % 16));
        bytes += size;
        const f = join(dir, `file${i}.ts`);
        await writeFile(f, Buffer.alloc(size, (d + i) % 251));
        await utimes(f, old, old);
      }),
    );
  }
  const hasher = await loadXxh64();
  const storeRoot = join(base, 'store');
  const open = async (): Promise<BuildContext> => {
    const r = await openContext({ contextDir: ctxDir, dockerfile: 'Dockerfile', storeRoot, hasher });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  const pass = async (label: string): Promise<void> => {
    const t0 = performance.now();
    const ctx = await open();
    const t1 = performance.now();
    await ctx.treeDigest(ctx.entries);
    const t2 = performance.now();
    await ctx.close();
    const t3 = performance.now();
    const files = ctx.entries.filter((e) => e.type === 'file').length;
    const s = (t2 - t1) / 1000;
    process.stdout.write(
      `${label.padEnd(5)} walk ${(t1 - t0).toFixed(0).padStart(5)} ms  fingerprint+digest ${(t2 - t1).toFixed(0).padStart(5)} ms  ` +
        `${Math.round(files / s).toString().padStart(8)} files/s  ${(bytes / 1e6 / s).toFixed(0).padStart(6)} MB/s  ` +
        `save ${(t3 - t2).toFixed(0)} ms  read ${ctx.counters.filesRead} files / ${(ctx.counters.bytesHashed / 1e6).toFixed(1)} MB, ` +
        `${ctx.counters.filesFromCache} from the stat cache\n`,
    );
  };
  process.stdout.write(`${FILES} files, ${(bytes / 1e6).toFixed(1)} MB\n`);
  await pass('cold');
  await pass('warm');
} finally {
  await rm(base, { recursive: true, force: true });
}
