/**
 * Runner B's first build with a cache shared through a registry, against docker 20.10 BuildKit.
 * For each scenario (bench/peers `app` and `deep`), with a local docker-registry behind a counting
 * proxy (test/helpers/counting-proxy.ts: bytes of blob downloads):
 *   wharf: runner A (fresh root) builds and exports `--cache-to type=registry,mode=max,compression=gzip`;
 *     runner B (another fresh root, a fresh checkout with new mtimes) builds `-t` with
 *     `--cache-from type=registry` (timed);
 *   docker: dockerd A builds with DOCKER_BUILDKIT=1 `--build-arg BUILDKIT_INLINE_CACHE=1` and pushes;
 *     dockerd B (a new private dockerd: fresh data root) builds `--cache-from THE_IMAGE` (timed).
 * Both B sides start from the same busybox base (loaded, not pulled). One run per cell: B's state
 * is only "fresh" once. Needs root. Usage: node dist/bench/cache-share.js [--scenarios app,deep]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeBusyboxRootfs } from '../test/helpers/busybox.js';
import { startCountingProxy, type CountingProxy } from '../test/helpers/counting-proxy.js';
import { startDockerd } from '../test/helpers/dockerd.js';
import { startRegistry, type TestRegistry } from '../test/helpers/registry.js';
import { scenarioSpec, writeScenario, type ScenarioName } from './peers/scenarios.js';

const { values } = parseArgs({ options: { scenarios: { type: 'string', default: 'app,deep' } } });
const scenarios = values.scenarios!.split(',') as ScenarioName[];

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(projectRoot, 'bin', 'wharf.js');
const BASE = 'wharf-bench/base:1';
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Runs a command to completion; throws with its output when it fails. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { ms: number; stderr: string } {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return { ms, stderr: r.stderr };
}
const wharf = (root: string, args: string[]) => run(process.execPath, [bin, '--root', root, ...args], { SOURCE_DATE_EPOCH: '1700000000' });

/** Two decimals, or two significant digits below 0.1 (deep's time ratio is 0.004). */
const ratio = (x: number) => (x < 0.1 ? x.toPrecision(2) : x.toFixed(2));

interface Row { scenario: string; tool: string; ms: number; bytes: number; note: string }

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(os.tmpdir(), 'wharf-bench-cache-share-'));
  let reg: TestRegistry | undefined;
  let proxy: CountingProxy | undefined;
  const rows: Row[] = [];
  let dockerVersion = '?';
  try {
    makeBusyboxRootfs(join(tmp, 'rootfs'));
    run('tar', ['-C', join(tmp, 'rootfs'), '-cf', join(tmp, 'rootfs.tar'), '.']);
    wharf(join(tmp, 'base-store'), ['import', join(tmp, 'rootfs.tar'), BASE]);
    const baseArchive = join(tmp, 'base.tar');
    wharf(join(tmp, 'base-store'), ['save', '-o', baseArchive, BASE]);
    reg = await startRegistry();
    proxy = await startCountingProxy(reg.port);
    const host = proxy.host;

    for (const name of scenarios) {
      const spec = scenarioSpec(name, { base: BASE, scale: 1, seed: 1 });
      const checkout = (who: string) => writeScenario(spec, join(tmp, `${name}-${who}`));

      // wharf: runner A exports, runner B imports.
      const cacheRef = `${host}/bench/${name}:buildcache`;
      const a = checkout('wharf-a');
      const rootA = join(tmp, `${name}-root-a`);
      wharf(rootA, ['load', '-i', baseArchive]);
      wharf(rootA, ['build', '--progress', 'plain', '-f', a.dockerfile, '--cache-to', `type=registry,ref=${cacheRef},mode=max,compression=gzip`, a.context]);
      const b = checkout('wharf-b');
      const rootB = join(tmp, `${name}-root-b`);
      wharf(rootB, ['load', '-i', baseArchive]);
      await proxy.reset();
      const wb = wharf(rootB, ['build', '--progress', 'plain', '-f', b.dockerfile, '-t', `${host}/bench/${name}:b`, '--cache-from', `type=registry,ref=${cacheRef}`, b.context]);
      const wStats = await proxy.stats();
      const cached = (wb.stderr.match(/^#\d+ CACHED$/gm) ?? []).length;
      const fetched = /(\d+) cached layers \((\d+) bytes\) fetched/.exec(wb.stderr);
      rows.push({ scenario: name, tool: 'wharf --cache-from type=registry', ms: wb.ms, bytes: wStats.downloadedBytes, note: `${cached} steps cached; wharf reports ${fetched?.[1] ?? '?'} layers, ${fetched?.[2] ?? '?'} bytes fetched` });
      log(`${name}: wharf B ${wb.ms.toFixed(0)} ms, ${wStats.downloadedBytes} bytes`);
      rmSync(rootA, { recursive: true, force: true });
      rmSync(rootB, { recursive: true, force: true });

      // docker 20.10 BuildKit: dockerd A pushes an inline-cache image, a fresh dockerd B builds from it.
      const image = `${host}/bench/${name}-docker:1`;
      const da = await startDockerd();
      try {
        dockerVersion = da.docker(['version', '--format', '{{.Server.Version}}']).stdout.trim();
        const ca = checkout('docker-a');
        must(da.docker(['load', '-i', baseArchive]));
        must(da.docker(['build', '-q', '--network', 'none', '--build-arg', 'BUILDKIT_INLINE_CACHE=1', '-t', image, '-f', ca.dockerfile, ca.context], { DOCKER_BUILDKIT: '1' }));
        must(da.docker(['push', '-q', image]));
      } finally {
        await da.stop();
      }
      const db = await startDockerd();
      try {
        const cb = checkout('docker-b');
        must(db.docker(['load', '-i', baseArchive]));
        await proxy.reset();
        const t = performance.now();
        const r = must(db.docker(['build', '--progress', 'plain', '--network', 'none', '--cache-from', image, '-t', `${host}/bench/${name}-docker:b`, '-f', cb.dockerfile, cb.context], { DOCKER_BUILDKIT: '1' }));
        const ms = performance.now() - t;
        const dStats = await proxy.stats();
        const cachedD = (r.stderr.match(/^#\d+ CACHED$/gm) ?? []).length;
        rows.push({ scenario: name, tool: 'docker BuildKit --cache-from (inline)', ms, bytes: dStats.downloadedBytes, note: `${cachedD} steps cached` });
        log(`${name}: docker B ${ms.toFixed(0)} ms, ${dStats.downloadedBytes} bytes`);
      } finally {
        await db.stop();
      }
    }

    const out: string[] = [];
    out.push(`Cache-share bench ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg()[0]!.toFixed(2)}; docker ${dockerVersion}; one run per cell`);
    out.push('', '| scenario | runner B, first build | s | bytes downloaded (blobs) | × docker time | × docker bytes | |', '|---|---|---|---|---|---|---|');
    for (const name of scenarios) {
      const group = rows.filter((r) => r.scenario === name);
      const d = group.find((r) => r.tool.startsWith('docker'));
      for (const r of group) {
        const rel = d && r !== d ? [`${ratio(r.ms / d.ms)}×`, d.bytes ? `${ratio(r.bytes / d.bytes)}×` : '-'] : ['', ''];
        out.push(`| ${name} | ${r.tool} | ${(r.ms / 1000).toFixed(2)} | ${r.bytes} | ${rel[0]} | ${rel[1]} | ${r.note} |`);
      }
    }
    console.log(out.join('\n'));
  } finally {
    await proxy?.stop();
    await reg?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function must(r: { status: number; stdout: string; stderr: string }): { stdout: string; stderr: string } {
  if (r.status !== 0) throw new Error(`docker exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r;
}

await main();
