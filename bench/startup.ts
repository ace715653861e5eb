// Start-up cost of the CLI, interleaved in one loop so every variant sees the same machine load:
// Node alone (`node -e 0`), `wharf --version` from the bundle (bin/wharf.js → dist/wharf.cjs with
// its V8 code cache) and from the ~140 ES modules under dist/src, and a no-op `wharf build` (every
// step cached; a COPY from the context, so nothing runs) both ways. Also the in-process cost of
// loading the build implementation's modules and of instantiating xxhash-wasm.
// With a second checkout (built), its bundle runs in the same loop: a before/after of one session.
// Needs root (the first, uncached build mounts an overlay). Usage: node dist/bench/startup.js [runs] [other-checkout]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { noopBuildArgs } from './noop-context.js';

const runs = Number(process.argv[2] ?? 20);
const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(projectRoot, 'bin', 'wharf.js');
const modules = join(projectRoot, 'dist', 'src', 'cli', 'main.js');
const other = process.argv[3];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function timed(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

async function inProcess(): Promise<{ buildModules: number; wasm: number }> {
  let t = performance.now();
  await import('../src/cli/build-command.js');
  const buildModules = performance.now() - t;
  const { loadXxh64 } = await import('../src/hash/index.js');
  t = performance.now();
  await loadXxh64();
  return { buildModules, wasm: performance.now() - t };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'wharf-bench-startup-'));
  try {
    const build = noopBuildArgs(tmp);
    timed([bin, ...build]); // the real build; every later one is a no-op
    const otherBin = other && join(other, 'bin', 'wharf.js');
    const variants: [string, string[]][] = [
      ['node -e 0', ['-e', '0']],
      ['wharf --version (bundle)', [bin, '--version']],
      ['wharf --version (dist/src modules)', [modules, '--version']],
      ['no-op build (bundle)', [bin, ...build]],
      ['no-op build (dist/src modules)', [modules, ...build]],
      ...(otherBin
        ? ([
            [`wharf --version (bundle of ${other})`, [otherBin, '--version']],
            [`no-op build (bundle of ${other})`, [otherBin, ...build]],
          ] as [string, string[]][])
        : []),
    ];
    const times = variants.map(() => [] as number[]);
    for (let i = 0; i < runs + 2; i++) {
      for (const [j, [, args]] of variants.entries()) {
        const ms = timed(args);
        if (i >= 2) times[j]!.push(ms); // two warm-up rounds (page cache, code caches)
      }
    }
    const node = median(times[0]!);
    console.log(`startup: median of ${runs} interleaved runs, ms (× node -e 0)`);
    for (const [j, [name]] of variants.entries()) {
      const m = median(times[j]!);
      console.log(`  ${name.padEnd(36)} ${m.toFixed(1).padStart(7)}  (${(m / node).toFixed(2)}×)`);
    }
    const { buildModules, wasm } = await inProcess();
    console.log(`  in-process: import build implementation (dist/src modules) ${buildModules.toFixed(1)} ms; xxhash-wasm init ${wasm.toFixed(1)} ms`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
