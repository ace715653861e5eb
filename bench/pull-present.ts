// `wharf pull` of an image the store already has (one manifest request, nothing downloaded)
// against Node start-up (`wharf --version`), interleaved in one loop so all see the same machine
// load. A real docker-registry on 127.0.0.1 serves a one-layer image that skopeo pushed; it is
// pulled once, then timed again and again: with undici from dist/undici.cjs and its code cache (as
// shipped), and with dist/undici.cjs moved aside for that run (undici from node_modules, compiled
// afresh each time, as before). Also the in-process cost of importing undici from node_modules.
// Needs docker-registry and skopeo. Usage: node dist/bench/pull-present.js [runs]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '../test/helpers/registry.js';

const runs = Number(process.argv[2] ?? 20);
const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(projectRoot, 'bin', 'wharf.js');

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

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'wharf-bench-pull-present-'));
  const reg = await startRegistry();
  try {
    const source = join(tmp, 'source');
    const root = join(tmp, 'root');
    execFileSync('tar', ['-C', projectRoot, '-cf', join(tmp, 'layer.tar'), 'package.json']);
    execFileSync(process.execPath, [bin, '--root', source, 'import', join(tmp, 'layer.tar'), 'tiny:1']);
    execFileSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${source}:tiny:1`, `docker://${reg.host}/bench/tiny:1`]);
    const name = `${reg.host}/bench/tiny:1`;
    execFileSync(process.execPath, [bin, '--root', root, 'pull', '-q', name]);
    const undici = join(projectRoot, 'dist', 'undici.cjs');
    if (!existsSync(undici)) throw new Error('dist/undici.cjs is missing: run `npm run build`');
    const pull = [bin, '--root', root, 'pull', '-q', name];
    const variants: [string, string[], boolean][] = [
      ['wharf --version', [bin, '--version'], false],
      ['wharf pull -q (image present)', pull, false],
      ['  same, undici from node_modules', pull, true],
    ];
    const times = variants.map(() => [] as number[]);
    for (let i = 0; i < runs + 2; i++) {
      for (const [v, [, args, aside]] of variants.entries()) {
        if (aside) renameSync(undici, `${undici}.aside`);
        try {
          const ms = timed(args);
          if (i >= 2) times[v]!.push(ms); // the first two warm the code cache and the page cache
        } finally {
          if (aside) renameSync(`${undici}.aside`, undici);
        }
      }
    }
    const rows = variants.map(([label], v) => [label, median(times[v]!)] as const);
    for (const [label, ms] of rows) console.log(`${label.padEnd(34)} ${ms.toFixed(1).padStart(7)} ms (median of ${runs})`);
    console.log(`${'pull beyond start-up'.padEnd(34)} ${(rows[1]![1] - rows[0]![1]).toFixed(1).padStart(7)} ms (undici from node_modules: ${(rows[2]![1] - rows[0]![1]).toFixed(1)} ms)`);
    const t = performance.now();
    await import('undici');
    console.log(`${'import undici (in process)'.padEnd(34)} ${(performance.now() - t).toFixed(1).padStart(7)} ms`);
  } finally {
    await reg.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
