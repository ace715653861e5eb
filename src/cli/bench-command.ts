// Implementation of `wharf bench`, loaded lazily by its command module: runs builds, measures, reports.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { CliContext } from './context.js';
import { buildOptionArgs, type BenchFlags } from './build-options.js';
import { forgetBuild, parseBuildArgs } from '../api/index.js';
import { interruptSignal } from './interrupt.js';
import { openChangedFiles } from './bench-changes.js';
import { benchReport, renderBenchText, renderRunLine, type BenchMode, type MeasuredRun } from './bench-report.js';
import type { BuildMetadata } from '../api/index.js';
import { UserError } from '../util/index.js';
import type { BuildRecord } from '../progress/index.js';
import { reportPathProblem, writeReport } from './report-file.js';
import { FsBlobStore } from '../store/index.js';
import { openCache } from '../cache/index.js';
import type { Sha256 } from '../hash/index.js';
import { mergeAdvice, nonReproducible, type Rerun } from '../advice/index.js';
import type { Advice } from '../progress/index.js';

const MODES: readonly BenchMode[] = ['cold', 'hit', 'change'];
/**
 * The builds run the entry point this process was started from (bin/wharf.js or the compiled
 * main): the CLI may run from the one-file bundle, where no sibling module path exists.
 */
const entryPoint = (): string => process.argv[1]!;

export async function runBench(ctx: CliContext, root: string, context: string, flags: BenchFlags): Promise<number> {
  const usage = (msg: string) => {
    ctx.stderr.write(`error: ${msg}\n`);
    return 2;
  };
  const mode = flags.mode as BenchMode;
  if (!MODES.includes(mode)) return usage(`--mode ${flags.mode}: use one of ${MODES.join(', ')}`);
  if (!/^\d+$/.test(flags.runs) || Number(flags.runs) < 1) return usage(`--runs ${flags.runs}: give a whole number of runs, 1 or more`);
  const runs = Number(flags.runs);
  if (mode === 'change' && flags.change.length === 0) return usage('--mode change needs at least one --change PATH (a file in the context to rewrite before each run)');
  if (mode !== 'change' && flags.change.length > 0) return usage(`--change applies to --mode change only (this is --mode ${mode})`);
  if (flags.file === '-') return usage('--file -: every run reads the Dockerfile again; give its path');
  // Checked here as build checks it, so a bad --build-arg stops the benchmark before its warm-up build.
  parseBuildArgs(flags.buildArg, ctx.env);
  const contextDir = resolve(ctx.cwd, context);
  const changes = await openChangedFiles(contextDir, flags.change);
  if ('error' in changes) return usage(changes.error);

  const reportPath = flags.report === undefined ? undefined : resolve(ctx.cwd, flags.report);
  if (reportPath) {
    const problem = await reportPathProblem('--report', reportPath);
    if (problem) return usage(problem);
  }
  // --report: each build writes what it drew as JSON; the page shows every run side by side.
  const records: BuildRecord[] = [];
  const writeBenchReport = () => (reportPath ? writeReport('--report', reportPath, { title: `wharf bench --mode ${mode} ${context}`, runs: records }) : Promise.resolve());

  const tmp = await mkdtemp(join(tmpdir(), 'wharf-bench-'));
  const interrupt = interruptSignal(() => new UserError('bench.interrupted', mode === 'change' ? 'benchmark interrupted (the --change files were restored)' : 'benchmark interrupted'));
  try {
    let n = 0;
    const build = async (label: string, extra: readonly string[] = []): Promise<MeasuredRun> => {
      const metaFile = join(tmp, `meta-${++n}.json`);
      const reportFile = join(tmp, `report-${n}.json`);
      const args = [entryPoint(), 'build', '--root', root, ...buildOptionArgs(flags), ...extra, '--explain', '--progress', 'quiet', '--metadata-file', metaFile, ...(reportPath ? ['--report-json', reportFile] : []), contextDir];
      const t0 = performance.now();
      const r = await runProcess(process.execPath, args, ctx, interrupt.signal);
      const wallMs = performance.now() - t0;
      interrupt.signal.throwIfAborted();
      if (reportPath) {
        const rec = await readFile(reportFile, 'utf8').then((t) => JSON.parse(t) as BuildRecord, () => undefined);
        if (rec) records.push({ ...rec, label });
      }
      if (r.code !== 0) {
        ctx.stderr.write(r.stderr);
        throw new UserError('bench.build-failed', `${label}: wharf build exited with status ${r.code}`, 'the benchmark stops at the first failed build; fix it with `wharf build` first');
      }
      const meta = JSON.parse(await readFile(metaFile, 'utf8')) as BuildMetadata;
      ctx.stderr.write(renderRunLine(label, wallMs, meta['wharf.steps']));
      return { wallMs, steps: meta['wharf.steps'], context: meta['wharf.context'], advice: meta['wharf.advice'] ?? [] };
    };

    // The warm-up fills the cache (hit, change) and names the keys a cold run must forget.
    let previous = await build('warm-up (not counted)');
    const measured: MeasuredRun[] = [];
    for (let i = 1; i <= runs; i++) {
      if (mode === 'cold') await forgetPrevious(root, contextDir, previous);
      if (mode === 'change') await changes.rewrite(i);
      previous = await build(`run ${i}/${runs}`);
      measured.push(previous);
    }
    const reruns = flags.checkReproducible ? await rerunTwice(root, previous, build, flags.buildArg, ctx.env.SOURCE_DATE_EPOCH) : [];
    const advice = benchAdvice(measured, flags.change.map((c) => relative(contextDir, resolve(contextDir, c))), reruns);
    const report = benchReport(mode, context, measured, advice);
    await writeBenchReport();
    ctx.stdout.write(flags.json ? JSON.stringify(report, null, 2) + '\n' : renderBenchText(report));
    return 0;
  } catch (e) {
    // The runs so far, the failed one included, still make a page.
    if (records.length && !interrupt.signal.aborted) await writeBenchReport().catch(() => {});
    throw e;
  } finally {
    await changes.restore();
    interrupt.dispose();
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The advice of every counted run (each build explains its misses against the one before), less
 * .dockerignore advice about the files --change rewrote on purpose, plus what the reproducibility
 * check found.
 */
function benchAdvice(measured: readonly MeasuredRun[], changed: readonly string[], reruns: readonly Rerun[]): Advice[] {
  const kept = measured.map((m) => (m.advice ?? []).filter((a) => a.rule !== 'dockerignore' || !a.files?.some((f) => changed.includes(f))));
  return [...mergeAdvice(kept), ...nonReproducible(reruns)];
}

/**
 * `--check-reproducible`: runs every step of the last build twice more with the same keys
 * (`--no-cache-filter` on each of its stages) and pairs the layers each run recorded. Both runs
 * clamp file times to one SOURCE_DATE_EPOCH (the user's, else a fixed one), so a step that writes
 * the same bytes gives the same layer and only real differences (dates, random data) show.
 */
async function rerunTwice(root: string, last: MeasuredRun, build: (label: string, extra: readonly string[]) => Promise<MeasuredRun>, buildArgs: readonly string[], envEpoch: string | undefined): Promise<Rerun[]> {
  const stages = [...new Set(last.steps.map((s) => s.stage))];
  const epoch = buildArgs.some((a) => a.startsWith('SOURCE_DATE_EPOCH=')) || envEpoch ? [] : ['--build-arg', `SOURCE_DATE_EPOCH=${FIXED_EPOCH}`];
  const extra = [...stages.flatMap((s) => ['--no-cache-filter', String(s)]), ...epoch];
  const cache = openCache(root, new FsBlobStore(root));
  const layers = async (run: MeasuredRun) =>
    Promise.all(run.steps.map(async (s) => (s.cached ? undefined : (await cache.get(s.cacheKey as Sha256))?.diffId)));
  const first = await build('reproducibility check 1/2 (not counted)', extra);
  const a = await layers(first);
  const second = await build('reproducibility check 2/2 (not counted)', extra);
  const b = await layers(second);
  return second.steps.flatMap((s, i) => {
    const [x, y] = [a[i], b[i]];
    // Same key in both runs, else the two layers are not comparable (an input changed meanwhile).
    if (!x || !y || first.steps[i]?.cacheKey !== s.cacheKey) return [];
    return [{ stage: s.stage, index: s.index, number: i + 1, instruction: s.instruction, ...(s.line !== undefined ? { line: s.line } : {}), diffIds: [x, y] as const }];
  });
}

/** 2023-11-14: any fixed instant does; file times newer than it are clamped to it. */
const FIXED_EPOCH = 1700000000;

/** `--mode cold`: the library's forgetBuild, for the previous run's steps. */
async function forgetPrevious(root: string, contextDir: string, previous: MeasuredRun): Promise<void> {
  await forgetBuild(root, { cacheKeys: previous.steps.map((s) => s.cacheKey), contextDir });
}

/**
 * Runs one process and collects its stderr. Ctrl-C at a terminal reaches the child too (same
 * process group); a signal sent to wharf bench alone is passed on, so the build cleans up either way.
 */
function runProcess(cmd: string, args: string[], ctx: CliContext, signal: AbortSignal): Promise<{ code: number; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: ctx.cwd, env: ctx.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const onAbort = () => child.kill('SIGTERM');
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', onAbort);
      resolvePromise({ code: code ?? (sig ? 128 : 1), stderr });
    });
  });
}
