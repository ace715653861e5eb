// This checkout against another, build for build: a bench:peers scenario (bench/peers/scenarios.ts)
// built by both, interleaved, on stores of their own made for the run. `noop` rebuilds with
// nothing changed, `change` appends a line to the scenario's changed file before each build (both
// see it changed, each once), `cold` builds on a fresh store each time (the base imported untimed).
// Both bundles' V8 code caches for `build` are removed first and remade by the same untimed builds
// (a cold one, then a no-op): a cache holds the code its writer ran, and one a no-op wrote made
// later change builds 2-7 ms slower (bench/README.md, "Speed, eighth round"); a store's history
// (snapshots, records) moves change builds too, hence stores of their own.
// Each checkout keeps its own runtime host cache. NODE_EXTRA_CA_CERTS is unset for every build.
// With IDLE-MS, each timed build comes after that long idle (bench:peers waits for an idle machine
// before each build): on this VM a disk gone idle flushes slower, 1-2 ms an fsync against 0.3.
// Needs root. Usage: node dist/bench/ab.js OTHER/bin/wharf.js [app|wide] [noop|change|cold] [rounds] [idle-ms]
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { makeBusyboxRootfs } from '../test/helpers/busybox.js';
import { scenarioSpec, writeScenario, type ScenarioName } from './peers/scenarios.js';

const [other, scenario = 'app', mode = 'change', roundsArg = '30', idleArg = '0'] = process.argv.slice(2);
if (!other || !['app', 'wide'].includes(scenario) || !['noop', 'change', 'cold'].includes(mode)) {
  process.stderr.write('usage: node dist/bench/ab.js OTHER/bin/wharf.js [app|wide] [noop|change|cold] [rounds] [idle-ms]\n');
  process.exit(2);
}
const rounds = Number(roundsArg);
const idleMs = Number(idleArg);
const bins: Record<string, string> = { this: join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'wharf.js'), other };
const work = mkdtempSync(join(tmpdir(), 'wharf-bench-ab-'));
const env: NodeJS.ProcessEnv = { ...process.env };
delete env['NODE_EXTRA_CA_CERTS'];

function wharf(who: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [bins[who]!, '--root', join(work, `root-${who}`), ...args], {
    env: { ...env, WHARF_RUNTIME_CACHE: join(work, `host-cache-${who}`) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`${who}: wharf ${args.join(' ')}: ${r.stderr}`);
  return performance.now() - t;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

try {
  makeBusyboxRootfs(join(work, 'rootfs'));
  execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
  const spec = scenarioSpec(scenario as ScenarioName, { base: 'wharf-bench/base:1', scale: 1, seed: 1 });
  const dirs = writeScenario(spec, join(work, 'scenario'));
  const build = ['build', '--network', 'none', '-q', '-t', 'ab:1', '-f', dirs.dockerfile, dirs.context];
  const fresh = (who: string) => {
    rmSync(join(work, `root-${who}`), { recursive: true, force: true });
    wharf(who, ['import', join(work, 'rootfs.tar'), 'wharf-bench/base:1']);
  };
  for (const who of Object.keys(bins)) {
    const cacheDir = join(dirname(bins[who]!), '..', 'dist', '.v8cache');
    for (const f of existsSync(cacheDir) ? readdirSync(cacheDir) : []) if (f.startsWith('build-')) rmSync(join(cacheDir, f));
    fresh(who);
    wharf(who, build);
    wharf(who, build);
  }
  const times: Record<string, number[]> = { this: [], other: [] };
  for (let i = 0; i < rounds; i++) {
    for (const who of i % 2 ? ['this', 'other'] : ['other', 'this']) {
      if (mode === 'cold') fresh(who);
      if (mode === 'change') appendFileSync(join(dirs.context, spec.changeFile!), `ab ${i} ${who}\n`);
      if (mode !== 'noop') execFileSync('sync');
      if (idleMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, idleMs);
      times[who]!.push(wharf(who, build));
    }
  }
  const [a, b] = [median(times['other']!), median(times['this']!)];
  console.log(`${scenario} ${mode}, ${rounds} interleaved rounds${idleMs ? `, ${idleMs} ms idle before each` : ''}, median ms: other ${a.toFixed(1)}, this ${b.toFixed(1)} (${(b - a >= 0 ? '+' : '') + (b - a).toFixed(1)})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
