// Implementation of `wharf bench`, loaded lazily by its command module: the flags into the
// library's bench, each build a `wharf build` process, the report printed.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CliContext } from './context.js';
import { buildOptionArgs, type BenchFlags } from './build-options.js';
import { bench, BENCH_USAGE, isUserError, parseBuildArgs, parseSourceDateEpoch, type BenchBuild, type BenchMode, type BuildMetadata } from '../api/index.js';
import { interruptSignal } from './interrupt.js';
import { renderBenchText, renderRunLine } from './bench-report.js';
import { UserError } from '../util/index.js';
import type { BuildRecord } from '../progress/index.js';
import { reportPathProblem, writeReport } from './report-file.js';

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
  if (!/^\d+$/.test(flags.runs) || Number(flags.runs) < 1) return usage(`--runs ${flags.runs}: give a whole number of runs, 1 or more`);
  // Checked here as build checks it, so a bad --build-arg stops the benchmark before its warm-up build.
  const buildArgs = parseBuildArgs(flags.buildArg, ctx.env);
  const reportPath = flags.report === undefined ? undefined : resolve(ctx.cwd, flags.report);
  if (reportPath) {
    const problem = await reportPathProblem('--report', reportPath);
    if (problem) return usage(problem);
  }
  // --report: each build writes what it drew as JSON; the page shows every run side by side.
  const records: BuildRecord[] = [];
  const writeBenchReport = () => (reportPath ? writeReport('--report', reportPath, { title: `wharf bench --mode ${flags.mode} ${context}`, runs: records }) : Promise.resolve());

  const tmp = await mkdtemp(join(tmpdir(), 'wharf-bench-'));
  const interrupt = interruptSignal(() => new UserError('bench.interrupted', flags.mode === 'change' ? 'benchmark interrupted (the --change files were restored)' : 'benchmark interrupted'));
  let n = 0;
  const runBuild = async (b: BenchBuild): Promise<BuildMetadata> => {
    const metaFile = join(tmp, `meta-${++n}.json`);
    const reportFile = join(tmp, `report-${n}.json`);
    const extra = [...b.noCacheStages.flatMap((s) => ['--no-cache-filter', s]), ...Object.entries(b.buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`])];
    const args = [entryPoint(), 'build', '--root', root, ...buildOptionArgs(flags), ...extra, '--explain', '--progress', 'quiet', '--metadata-file', metaFile, ...(reportPath ? ['--report-json', reportFile] : []), b.contextDir];
    const r = await runProcess(process.execPath, args, ctx, b.signal);
    b.signal.throwIfAborted();
    if (reportPath) {
      const rec = await readFile(reportFile, 'utf8').then((t) => JSON.parse(t) as BuildRecord, () => undefined);
      if (rec) records.push({ ...rec, label: b.label });
    }
    if (r.code !== 0) {
      ctx.stderr.write(r.stderr);
      throw new UserError('bench.build-failed', `${b.label}: wharf build exited with status ${r.code}`, 'the benchmark stops at the first failed build; fix it with `wharf build` first');
    }
    return JSON.parse(await readFile(metaFile, 'utf8')) as BuildMetadata;
  };
  try {
    const epoch = ctx.env.SOURCE_DATE_EPOCH ? parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH) : undefined;
    const report = await bench(
      {
        root,
        context,
        cwd: ctx.cwd,
        mode: flags.mode as BenchMode,
        runs: Number(flags.runs),
        change: flags.change,
        checkReproducible: flags.checkReproducible === true,
        // What the library checks; the builds themselves take the flags (runBuild).
        build: { buildArgs, ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}), ...(flags.file !== undefined ? { dockerfile: flags.file } : {}) },
      },
      { onEvent: (e) => ctx.stderr.write(renderRunLine(e.label, e.wallMs, e.steps)), signal: interrupt.signal, runBuild },
    );
    await writeBenchReport();
    ctx.stdout.write(flags.json ? JSON.stringify(report, null, 2) + '\n' : renderBenchText(report));
    return 0;
  } catch (e) {
    if (isUserError(e) && e.code === BENCH_USAGE) return usage(e.message);
    // The runs so far, the failed one included, still make a page.
    if (records.length && !interrupt.signal.aborted) await writeBenchReport().catch(() => {});
    throw e;
  } finally {
    interrupt.dispose();
    await rm(tmp, { recursive: true, force: true });
  }
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
