/**
 * `npm run fuzz -- --count N [--seed S]`: the fuzz campaign. Mutated Dockerfiles go through parse
 * and plan in-process (N cases) and a sample through the real CLI; mutated archives go through
 * `wharf load -i` and `wharf import`. It prints, per part, the cases tried, the exit codes, how
 * many were refused cleanly, every distinct stack trace, hangs and slow runs, and exits 1 when it
 * saw any stack trace or hang. The same seed gives the same cases; `--case I` runs case I alone.
 *
 *   --count N          Dockerfile cases in-process (default 500)
 *   --cli-count N      of those, how many also go through the CLI (default count/50, at least 10)
 *   --archive-count N  archive cases (default count/20, at least 20; 0 skips the archive part)
 *   --seed S           campaign seed (default 1)
 *   --case I           only case I of each part
 *   --timeout-ms T     per case, then it is a hang and is killed (default 10000)
 *   --jobs J           CLI runs at once (default 2)
 *   --dump DIR         write the inputs of stack traces and hangs to DIR
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { archiveBases, archives, dockerfilesInProcess, dockerfilesThroughCli, type CampaignOptions } from './campaign.js';
import { formatPart, traceCount, type PartReport } from './report.js';

function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else out.set(a.slice(2), argv[++i] ?? '');
  }
  return out;
}

const KNOWN = ['count', 'cli-count', 'archive-count', 'seed', 'case', 'timeout-ms', 'jobs', 'dump'];

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  for (const k of args.keys()) if (!KNOWN.includes(k)) throw new Error(`unknown option --${k} (known: ${KNOWN.map((x) => `--${x}`).join(' ')})`);
  const num = (k: string, d: number) => {
    const v = args.get(k);
    if (v === undefined) return d;
    if (!/^\d+$/.test(v)) throw new Error(`--${k} needs a number, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  const count = num('count', 500);
  const only = args.has('case') ? num('case', 0) : undefined;
  const bin = fileURLToPath(new URL('../../../bin/wharf.js', import.meta.url));
  const tmp = await mkdtemp(join(tmpdir(), 'wharf-fuzz-'));
  const base: Omit<CampaignOptions, 'from' | 'to'> = {
    seed: num('seed', 1), timeoutMs: num('timeout-ms', 10_000), jobs: Math.max(1, num('jobs', 2)), bin, tmp,
    ...(args.get('dump') ? { dumpDir: args.get('dump')! } : {}),
  };
  const range = (n: number) => (only !== undefined ? { from: only, to: only + 1 } : { from: 0, to: n });
  const parts: PartReport[] = [];
  const t0 = performance.now();
  try {
    const say = (p: PartReport) => {
      parts.push(p);
      process.stdout.write(formatPart(p) + '\n');
    };
    process.stdout.write(`wharf fuzz: seed ${base.seed}\n`);
    say(await dockerfilesInProcess({ ...base, ...range(count) }));
    say(await dockerfilesThroughCli({ ...base, ...range(count) }, only !== undefined ? 1 : num('cli-count', Math.max(10, Math.floor(count / 50)))));
    const archiveCount = num('archive-count', Math.max(20, Math.floor(count / 20)));
    if (archiveCount > 0) say(await archives({ ...base, ...range(archiveCount) }, await archiveBases({ ...base, from: 0, to: 0 })));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const traces = parts.reduce((n, p) => n + traceCount(p), 0);
  const hangs = parts.reduce((n, p) => n + p.hangs.length, 0);
  const tried = parts.reduce((n, p) => n + p.tried, 0);
  const refused = parts.reduce((n, p) => n + p.refused, 0);
  process.stdout.write(`\ntotal: ${tried} cases, ${refused} refused cleanly, ${traces} stack traces, ${hangs} hangs, ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return traces > 0 || hangs > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`fuzz: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  },
);
