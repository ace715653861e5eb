/**
 * `npm run bench:peers`: wharf against docker classic, docker BuildKit and buildah on generated
 * scenarios, in three modes (cold cache, no-op rebuild, one changed file). Runs of different
 * builders are interleaved round by round (the order rotates each round), after warm-up rounds
 * that are not counted. Writes JSON and a markdown table under bench/results/ and prints the table.
 *
 *   npm run bench:peers -- --scenarios app,wide --builders buildkit,wharf --runs 3 --scale 0.1
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureFloor, type Floor } from './floor.js';
import { cleanupAll, installSignalHandlers, quiesce, stopping } from './procs.js';
import { modes, renderMarkdown, type Cell, type Mode, type PeerResults } from './report.js';
import { changeFile, restoreFile, scenarioNames, scenarioSpec, writeScenario, type ScenarioName } from './scenarios.js';
import { builderNames, projectRoot, setupPeers, wharfBin } from './setup.js';

const { values } = parseArgs({
  options: {
    scenarios: { type: 'string', default: scenarioNames.join(',') },
    builders: { type: 'string', default: builderNames.join(',') },
    modes: { type: 'string', default: modes.join(',') },
    runs: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    scale: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: join(projectRoot, 'bench', 'results') },
    // Another build of wharf (a branch checked out and built elsewhere) to measure instead of this one.
    'wharf-bin': { type: 'string', default: wharfBin },
    // Start wharf with NODE_EXTRA_CA_CERTS as it is here (builders.ts, WHARF_ENV_UNSET).
    'keep-env': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    `usage: node dist/bench/peers/run.js [--scenarios ${scenarioNames.join(',')}] [--builders ${builderNames.join(',')}]\n` +
      `  [--modes ${modes.join(',')}] [--runs 5] [--warmup 1] [--scale 1 (bigctx size)] [--seed 1] [--out bench/results] [--wharf-bin bin/wharf.js] [--keep-env]\n`,
  );
  process.exit(0);
}
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const scenarios = list(values.scenarios!) as ScenarioName[];
for (const s of scenarios) if (!scenarioNames.includes(s)) throw new Error(`unknown scenario ${s}; known: ${scenarioNames.join(', ')}`);
const wantedModes = list(values.modes!) as Mode[];
for (const m of wantedModes) if (!modes.includes(m)) throw new Error(`unknown mode ${m}; known: ${modes.join(', ')}`);
const runs = Number(values.runs);
const warmup = Number(values.warmup);
const scale = Number(values.scale);
const seed = Number(values.seed);
if (!(runs >= 1 && warmup >= 0 && scale > 0 && Number.isInteger(seed))) throw new Error('--runs ≥ 1, --warmup ≥ 0, --scale > 0 and an integer --seed are needed');

const log = (s: string) => process.stderr.write(`${s}\n`);
installSignalHandlers();

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = os.loadavg()[0]!;
  const setup = await setupPeers(list(values.builders!), values['wharf-bin']!, log, values['keep-env']);
  const cells: Cell[] = [];
  // `wide` cold against its own floor (floor.ts), measured in the same rounds as the builders.
  const floors: Floor[] = [];
  const ready = setup.builders.filter((b) => !b.unavailable).map((b) => b.builder);

  for (const name of scenarios) {
    const spec = scenarioSpec(name, { base: 'wharf-bench/base:1', scale, seed });
    log(`\n${name}: writing ${spec.files.length} files`);
    const dirs = writeScenario(spec, join(setup.work, 'scenarios', name));
    const tag = (b: string) => `bench-${name}-${b}`;
    for (const mode of wantedModes) {
      const none = (error: string) => setup.builders.forEach((b) => cells.push({ scenario: name, mode, builder: b.builder.name, runs: [], error: b.unavailable ?? error }));
      if (mode === 'change' && !spec.changeFile) {
        none('nothing copied to change');
        continue;
      }
      const times = new Map<string, number[]>(ready.map((b) => [b.name, []]));
      const failed = new Map<string, string>();
      let change = 0;
      for (let round = -warmup; round < runs; round++) {
        const order = ready.map((_, i) => ready[(i + round + warmup) % ready.length]!);
        const line: string[] = [];
        for (const b of order) {
          if (stopping()) throw new Error('stopped by a signal');
          if (failed.has(b.name)) continue;
          if (mode === 'cold') await b.resetCache([tag(b.name)]);
          if (mode === 'change') changeFile(spec, dirs, ++change);
          // Every timed build starts with nothing dirty on disk and an idle machine: else the first
          // sync it makes (an overlay's umount syncs the whole file system) also writes back what
          // the untimed reset, or the builder before it, left in the page cache, and a daemon's work
          // after its build returned (BuildKit's cleanup) runs on the next builder's clock.
          spawnSync('sync');
          await quiesce();
          const r = await b.build(dirs, tag(b.name));
          if (r.status !== 0) {
            const why = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ');
            failed.set(b.name, `build failed: ${why}`);
            log(`  ${b.name} failed: ${(r.stderr || r.stdout).trim().slice(-1500)}`);
            continue;
          }
          if (round >= 0) times.get(b.name)!.push(r.ms);
          line.push(`${b.name} ${(r.ms / 1000).toFixed(2)}s`);
        }
        if (name === 'wide' && mode === 'cold' && !stopping()) {
          const f = await measureFloor(spec.dockerfile, setup.rootfs, setup.work);
          if (round >= 0) floors.push(f);
          line.push(`floor ${f.floorS.toFixed(2)}s (bare ${f.bareParallelS.toFixed(2)}s)`);
        }
        log(`  ${name} ${mode} ${round < 0 ? 'warm-up' : `run ${round + 1}/${runs}`}: ${line.join(', ')}`);
      }
      if (mode === 'change') restoreFile(spec, dirs);
      for (const b of setup.builders) {
        const n = b.builder.name;
        const error = b.unavailable ?? failed.get(n);
        cells.push({ scenario: name, mode, builder: n, runs: error ? [] : times.get(n)!, ...(error ? { error } : {}) });
      }
    }
  }

  const results: PeerResults = {
    date: started.toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      kernel: os.release(),
      loadBefore: Number(loadBefore.toFixed(2)),
      loadAfter: Number(os.loadavg()[0]!.toFixed(2)),
      ...setup.versions,
    },
    config: { scenarios, modes: wantedModes, runs, warmup, scale, seed, durationS: Math.round((Date.now() - started.getTime()) / 1000) },
    builders: setup.builders.map((b) => b.builder.name),
    cells,
    ...(floors.length ? { floors: { wide: floors } } : {}),
  };
  const md = `# wharf against its peers\n\n${results.date}, ${results.machine['cores']} cores (${results.machine['cpu']}), ` +
    `${results.machine['memoryGiB']} GiB, kernel ${results.machine['kernel']}, load ${loadBefore.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}; ` +
    `docker ${setup.versions['docker']}, ${setup.versions['buildah']}, node ${process.version}; ${runs} runs after ${warmup} warm-up, scale ${scale}` +
    `${process.env['NODE_EXTRA_CA_CERTS'] && !values['keep-env'] ? '; the wharf CLI started without NODE_EXTRA_CA_CERTS (set here)' : ''}.\n` +
    `Median seconds (min–max); wharf/peer is the ratio of medians.\n\n${renderMarkdown(results)}`;
  mkdirSync(values.out!, { recursive: true });
  const stamp = results.date.replace(/[:.]/g, '-');
  for (const base of [`peers-${stamp}`, 'peers-latest']) {
    writeFileSync(join(values.out!, `${base}.json`), JSON.stringify(results, null, 2) + '\n');
    writeFileSync(join(values.out!, `${base}.md`), md);
  }
  process.stdout.write(`\n${md}\nwritten to ${join(values.out!, `peers-${stamp}.{json,md}`)}\n`);
}

main()
  .catch((e: unknown) => {
    log(`bench: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
