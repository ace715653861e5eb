/**
 * The fuzz campaign's three parts: mutated Dockerfiles through the in-process front end (in a
 * worker thread with a watchdog), a sample of them through the real CLI (`wharf plan`, `wharf
 * parse`), and mutated archives through the real `wharf load -i` and `wharf import`, each into a
 * store of its own.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { archiveCase, dockerArchiveEntries, rootfsEntries, type ArchiveBase } from './archive-gen.js';
import { pool, runCli } from './cli-case.js';
import { dockerfileCase } from './dockerfile-gen.js';
import type { WorkerMessage } from './front-worker.js';
import { newPart, record, type PartReport } from './report.js';
import { readTar, writeTar } from './tar.js';

export interface CampaignOptions {
  readonly seed: number;
  /** Case numbers to run, [from, to). */
  readonly from: number;
  readonly to: number;
  readonly timeoutMs: number;
  readonly jobs: number;
  /** bin/wharf.js */
  readonly bin: string;
  /** A scratch directory the campaign owns (removed by the caller). */
  readonly tmp: string;
  /** Where to write the inputs of stack traces and hangs, if anywhere. */
  readonly dumpDir?: string;
}

async function dump(o: CampaignOptions, name: string, bytes: Buffer): Promise<void> {
  if (!o.dumpDir) return;
  await mkdir(o.dumpDir, { recursive: true });
  await writeFile(join(o.dumpDir, name), bytes);
}

/** Dockerfile cases [from, to) in-process; a worker is restarted after a case that hangs or kills it. */
export async function dockerfilesInProcess(o: CampaignOptions): Promise<PartReport> {
  const part = newPart('Dockerfiles through parse + plan (in-process)');
  for (let start = o.from; start < o.to; ) start = await runWorker(o, start, part);
  return part;
}

function runWorker(o: CampaignOptions, start: number, part: PartReport): Promise<number> {
  return new Promise((resolve) => {
    // The main thread's stack size (~1 MB), so that what overflows the CLI overflows here.
    const w = new Worker(new URL('./front-worker.js', import.meta.url), {
      workerData: { seed: o.seed, start, end: o.to }, resourceLimits: { stackSizeMb: 1, maxOldGenerationSizeMb: 2048 },
    });
    let current: { index: number; t0: number } | undefined;
    let settled = false;
    /** Records the case the worker was on as a hang or a crash (once), and moves on past it. */
    const failCurrent = (verdict: 'hang' | 'trace', code: string, detail: string): number | undefined => {
      if (settled) return undefined;
      settled = true;
      clearInterval(watchdog);
      const index = current?.index ?? start;
      const { how, bytes } = dockerfileCase(o.seed, index);
      record(part, { index, how, verdict, code, ms: current ? performance.now() - current.t0 : 0, detail });
      void dump(o, `dockerfile-${o.seed}-${index}.${verdict}`, bytes);
      return index + 1;
    };
    const watchdog = setInterval(() => {
      if (!current || performance.now() - current.t0 < o.timeoutMs) return;
      const next = failCurrent('hang', 'timeout', '');
      if (next !== undefined) void w.terminate().then(() => resolve(next));
    }, 100);
    w.on('message', (m: WorkerMessage) => {
      if (m.kind === 'start') {
        current = { index: m.index, t0: performance.now() };
        return;
      }
      current = undefined;
      if (m.outcome === 'threw') {
        const { how, bytes } = dockerfileCase(o.seed, m.index);
        record(part, { index: m.index, how, verdict: 'trace', code: 'threw', ms: m.ms, detail: m.error ?? '' });
        void dump(o, `dockerfile-${o.seed}-${m.index}.trace`, bytes);
      } else {
        const how = m.ms > 2000 ? dockerfileCase(o.seed, m.index).how : '';
        record(part, { index: m.index, how, verdict: m.outcome, code: m.outcome === 'accepted' ? '0' : '1', ms: m.ms });
      }
    });
    // Out of memory or a crash of the worker itself: the case it was on is the culprit.
    w.on('error', (e) => {
      const next = failCurrent('trace', 'worker died', e.stack ?? String(e));
      if (next !== undefined) resolve(next);
    });
    w.on('exit', () => {
      if (settled) return;
      if (!current) {
        settled = true;
        clearInterval(watchdog);
        resolve(o.to);
        return;
      }
      const next = failCurrent('trace', 'worker died', 'the worker exited in the middle of a case');
      if (next !== undefined) resolve(next);
    });
  });
}

/** `count` of the Dockerfile cases, spread over [from, to), through the real CLI. */
export async function dockerfilesThroughCli(o: CampaignOptions, count: number): Promise<PartReport> {
  const part = newPart('Dockerfiles through the CLI (wharf plan, wharf parse)');
  const span = o.to - o.from;
  const n = Math.min(count, span);
  const stride = Math.max(1, Math.floor(span / Math.max(1, n)));
  await pool(n, o.jobs, async (k) => {
    const index = o.from + k * stride;
    const { bytes, how } = dockerfileCase(o.seed, index);
    const dir = join(o.tmp, `cli-${index}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'Dockerfile'), bytes);
    const args = k % 2 === 0 ? ['--root', join(o.tmp, 'cli-store'), 'plan', dir] : ['--root', join(o.tmp, 'cli-store'), 'parse', '-f', join(dir, 'Dockerfile'), '--format', 'buildkit'];
    const r = await runCli(o.bin, args, { timeoutMs: o.timeoutMs });
    record(part, { index, how: `${args[2]}: ${how}`, verdict: r.verdict, code: r.code, ms: r.ms, detail: r.stderr });
    if (r.verdict === 'trace' || r.verdict === 'hang') await dump(o, `dockerfile-${o.seed}-${index}.cli-${r.verdict}`, bytes);
    await rm(dir, { recursive: true, force: true });
  });
  return part;
}

/** The valid archives the mutations start from: one `wharf save` wrote, a docker-style one and a rootfs tarball. */
export async function archiveBases(o: CampaignOptions): Promise<ArchiveBase[]> {
  const dir = join(o.tmp, 'bases');
  await mkdir(dir, { recursive: true });
  const rootfs = join(dir, 'rootfs.tar');
  await writeFile(rootfs, writeTar(rootfsEntries()));
  const store = join(dir, 'store');
  for (const args of [['import', rootfs, 'fuzz:base'], ['save', '-o', join(dir, 'save.tar'), 'fuzz:base']]) {
    // A fixed creation time, so that the base (and so every case made from it) is the same bytes on every run.
    const r = spawnSync(process.execPath, [o.bin, '--root', store, ...args], { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1600000000' } });
    if (r.status !== 0) throw new Error(`fuzz setup: wharf ${args[0]} failed: ${r.stderr}`);
  }
  return [
    { kind: 'save', entries: readTar(await readFile(join(dir, 'save.tar'))) },
    { kind: 'docker', entries: dockerArchiveEntries() },
    { kind: 'rootfs', entries: rootfsEntries() },
  ];
}

/** Archive cases [from, to) through `wharf load -i` / `wharf import`, each into a fresh store. */
export async function archives(o: CampaignOptions, bases: readonly ArchiveBase[]): Promise<PartReport> {
  const part = newPart('archives through the CLI (wharf load -i, wharf import)');
  await pool(o.to - o.from, o.jobs, async (k) => {
    const index = o.from + k;
    const c = archiveCase(o.seed, index, bases);
    const file = join(o.tmp, `archive-${index}.tar`);
    const store = join(o.tmp, `store-${index}`);
    await writeFile(file, c.bytes);
    const args = ['--root', store, ...c.args.map((a) => (a === 'FILE' ? file : a))];
    const r = await runCli(o.bin, args, { timeoutMs: o.timeoutMs });
    record(part, { index, how: `${c.args[0]}: ${c.how}`, verdict: r.verdict, code: r.code, ms: r.ms, detail: r.stderr });
    if (r.verdict === 'trace' || r.verdict === 'hang') await dump(o, `archive-${o.seed}-${index}.${r.verdict}.tar`, c.bytes);
    await rm(file, { force: true });
    await rm(store, { recursive: true, force: true });
  });
  return part;
}
