// Implementation of `wharf build`, loaded lazily by its command module: wiring only.
import { resolve } from 'node:path';
import { withRuntimeCache, type CliContext } from './context.js';
import type { BuildFlags } from './build-options.js';
import { DiagnosticError, formatDiagnostic } from '../diag/index.js';
import { reportPathProblem, writeReport } from './report-file.js';
import { reportDiagnostic, reportDiagnosticsFailed, reportFailure } from './build-failure.js';
import { parseOutput } from './output-spec.js';
import { refuseTerminal } from './archive-commands.js';
import { isUserError, nowMs, UserError } from '../util/index.js';
import { parseTagName } from '../image/index.js';
import { createRenderer, type BuildEvent, type ProgressMode } from '../progress/index.js';
import type { Compression } from '../layer/index.js';
import { interruptSignal } from './interrupt.js';
import { readSecretFlags, readSshFlags } from './build-secrets.js';
import { storeRegistryOptions } from './registry.js';
import {
  BAD_CACHE_FILTER,
  NOTHING_TO_PUSH,
  build,
  streamedContextKey,
  parseBuildArgs,
  parseBuildNetwork,
  parseCacheFrom,
  parseCacheTo,
  parseRunPolicy,
  buildSourceDateEpoch,
  parseSourceDateEpoch,
  reportCollector,
  writeOutput,
  type BuildResult,
} from '../api/index.js';

const MODES = ['auto', 'tty', 'plain', 'json', 'quiet'];
const RUNTIMES = ['auto', 'wharf', 'crun', 'runc'];
const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'zstd'];

/**
 * `--report FILE.html` (and bench's `--report-json FILE`, the same data for it to draw): the path
 * is checked before the build, and the file written after it, failed or not.
 */
export async function runBuild(ctx: CliContext, root: string, context: string, flags: BuildFlags): Promise<number> {
  const outputs = [
    ...(flags.report !== undefined ? [{ flag: '--report', path: resolve(ctx.cwd, flags.report), json: false }] : []),
    ...(flags.reportJson !== undefined ? [{ flag: '--report-json', path: resolve(ctx.cwd, flags.reportJson), json: true }] : []),
  ];
  if (!outputs.length) return runBuildWith(ctx, root, context, flags);
  for (const o of outputs) {
    const problem = await reportPathProblem(o.flag, o.path);
    if (problem) {
      ctx.stderr.write(`error: ${problem}\n`);
      return 2;
    }
  }
  const collector = reportCollector();
  const report: BuildReport = { sink: collector.sink };
  const write = async () => {
    const rec = collector.record('build', report.failure);
    for (const o of outputs) {
      if (o.json) await writeOutput(o.path, JSON.stringify(rec) + '\n', o.flag);
      else await writeReport(o.flag, o.path, { title: `wharf build ${context}`, runs: [rec] });
    }
  };
  try {
    const code = await runBuildWith(ctx, root, context, flags, report);
    // A usage error (a bad flag value) is not a build to draw.
    if (code !== 2 || report.failure !== undefined) await write();
    return code;
  } catch (e) {
    report.failure ??= e instanceof Error ? e.message.split('\n')[0] : String(e);
    await write().catch(() => {});
    throw e;
  }
}

/** What a build tells its report besides the events: why it failed, when it did. */
interface BuildReport {
  readonly sink: (e: BuildEvent) => void;
  failure?: string;
}

async function runBuildWith(ctx: CliContext, root: string, context: string, flags: BuildFlags, report?: BuildReport): Promise<number> {
  const t0 = nowMs();
  const failed = (message: string) => {
    if (report) report.failure ??= message.split('\n')[0];
  };
  if (!MODES.includes(flags.progress)) {
    ctx.stderr.write(`error: --progress ${flags.progress}: use one of ${MODES.join(', ')}\n`);
    return 2;
  }
  const mode: ProgressMode = flags.progress === 'auto' ? (ctx.stderr.isTTY ? 'tty' : 'plain') : (flags.progress as ProgressMode);
  if (!RUNTIMES.includes(flags.runtime)) {
    ctx.stderr.write(`error: --runtime ${flags.runtime}: use one of ${RUNTIMES.join(', ')}\n`);
    return 2;
  }
  const net = parseBuildNetwork(flags.network, flags.addHost);
  if (!net.ok) {
    ctx.stderr.write(`error: ${net.error}
`);
    return 2;
  }
  const policy = parseRunPolicy(flags);
  if (!policy.ok) {
    ctx.stderr.write(`error: ${policy.error}\n`);
    return 2;
  }
  const labels: Record<string, string> = {};
  for (const l of flags.label) {
    const eq = l.indexOf('=');
    if (eq <= 0) {
      ctx.stderr.write(`error: --label ${l}: write --label KEY=value\n`);
      return 2;
    }
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  if (!COMPRESSIONS.includes(flags.compression as Compression)) {
    ctx.stderr.write(`error: --compression ${flags.compression}: use one of ${COMPRESSIONS.join(', ')}\n`);
    return 2;
  }
  const secrets = await readSecretFlags(flags.secret, ctx.env, ctx.cwd);
  const sshAgents = await readSshFlags(flags.ssh, ctx.env, ctx.cwd);
  if (!secrets.ok || !sshAgents.ok) {
    ctx.stderr.write(`error: ${!secrets.ok ? secrets.error : !sshAgents.ok ? sshAgents.error : ''}\n`);
    return 2;
  }
  const output = flags.output === undefined ? undefined : parseOutput(flags.output);
  if (output && 'error' in output) {
    ctx.stderr.write(`error: --output ${flags.output}: ${output.error}\n`);
    return 2;
  }
  if (output && 'dest' in output && output.dest === '-') {
    refuseTerminal(ctx.stdout, `--output ${flags.output}`, 'redirect stdout to a file or a pipe, or give dest=FILE');
    if (mode === 'quiet') {
      ctx.stderr.write(`error: --output ${flags.output}: -q prints the image ID on stdout, where the archive goes; drop -q (or use --iidfile)\n`);
      return 2;
    }
  }
  const tags = flags.tag.map((t) => parseTagName(t, '-t'));
  // -o type=image,name=… names the image as -t does; --push and push=true (type=registry) push
  // every name it has.
  const named = output && output.type === 'image' ? output.names.map((n) => parseTagName(n, '-o name=')) : [];
  const pushing = flags.push === true || (output?.type === 'image' && output.push);
  const cacheTo = (flags.cacheTo ?? []).map(parseCacheTo);
  const cacheFrom = (flags.cacheFrom ?? []).map(parseCacheFrom);
  const buildArgs = parseBuildArgs(flags.buildArg, ctx.env);
  // As BuildKit: the environment's SOURCE_DATE_EPOCH, or the build arg of that name (which wins;
  // build() applies that too, checked here so a bad value fails before any output).
  const sourceDateEpoch = buildSourceDateEpoch(buildArgs, () => parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH));

  // Colours only on a terminal, and never with NO_COLOR set (no-color.org: any non-empty value).
  const renderer = createRenderer(mode, mode === 'quiet' ? ctx.stdout : ctx.stderr, { color: ctx.stderr.isTTY === true && !ctx.env.NO_COLOR });
  const json = mode === 'json';
  const at = () => Math.round(nowMs() - t0);
  // Hooked before stdin is read: Ctrl-C while a context tar streams in still removes its temp dir.
  const interrupt = interruptSignal(() => new UserError('build.interrupted', 'build interrupted'));
  let built: BuildResult;
  try {
    built = await build(
      {
        root,
        cwd: ctx.cwd,
        context: context === '-' ? process.stdin : context,
        ...(context === '-' ? streamedContextKey(flags.tag, flags.target, flags.file) : {}),
        ...(flags.file !== undefined ? { dockerfile: flags.file } : {}),
        // Only `-f -` reads it: process.stdin makes its stream on first touch (~3 ms a build).
        ...(flags.file === '-' ? { stdin: process.stdin } : {}),
        tags: [...tags, ...named],
        names: flags.tag,
        buildArgs,
        ...(flags.target !== undefined ? { target: flags.target } : {}),
        labels,
        noCache: !flags.cache,
        noCacheStages: flags.cacheFilter,
        pull: flags.pull === true,
        ...(flags.platform ? { platform: flags.platform } : {}),
        network: net.value.network,
        runtime: flags.runtime as 'auto' | 'wharf' | 'runc' | 'crun',
        extraHosts: net.value.extraHosts,
        policy: policy.value,
        compression: flags.compression as Compression,
        secrets: secrets.value,
        sshAgents: sshAgents.value,
        ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
        cacheFrom,
        cacheTo,
        ...(output && output.type !== 'image' ? { output: { type: output.type, dest: output.dest === '-' ? { stream: ctx.stdout, name: 'stdout' } : output.dest } } : {}),
        registry: storeRegistryOptions(ctx, root),
        ...(pushing ? { push: { flag: flags.push ? '--push' : `--output ${flags.output}` } } : {}),
        ...(ctx.env.PATH !== undefined ? { searchPath: ctx.env.PATH } : {}),
        ...withRuntimeCache(ctx),
        explain: flags.explain === true,
      },
      { onEvent: report ? (e) => (renderer.sink(e), report.sink(e)) : (e) => renderer.sink(e), onDiagnostic: (d) => reportDiagnostic(ctx.stderr, json, d, at()), signal: interrupt.signal, startedAt: t0 },
    ).finally(() => renderer.close());
    // The code of steps goes into the V8 code cache bin/wharf.js keeps, once (it widens a cache a
    // no-op build wrote).
    if (built.steps.some((s) => !s.cached)) (globalThis as { [k: symbol]: { ranSteps?(): void } | undefined })[Symbol.for('wharf.codeCache')]?.ranSteps?.();
    if (flags.iidfile) await writeOutput(resolve(ctx.cwd, flags.iidfile), built.imageId, '--iidfile');
    if (flags.metadataFile) await writeOutput(resolve(ctx.cwd, flags.metadataFile), JSON.stringify(built.metadata, null, 2) + '\n', '--metadata-file');
    return 0;
  } catch (e) {
    // An abort from Ctrl-C surfaces as whatever was interrupted; report it as the interruption,
    // with the exit status of a process that signal stopped (130, 143), as `load` has.
    if (interrupt.signal.aborted) {
      const message = (interrupt.signal.reason as Error).message;
      failed(message);
      ctx.stderr.write(json ? JSON.stringify({ type: 'build-failed', code: 'build.interrupted', message, at: at() }) + '\n' : `error: ${message}\n`);
      return interrupt.exitCode;
    }
    // Each diagnostic was printed as it came (onDiagnostic).
    if (e instanceof DiagnosticError) {
      failed(e.diagnostics[0] ? formatDiagnostic(e.diagnostics[0]) : 'the Dockerfile has errors');
      reportDiagnosticsFailed(ctx.stderr, json, e.diagnostics, at());
      return 1;
    }
    failed(e instanceof Error ? e.message : String(e));
    if (isUserError(e) && (e.code === BAD_CACHE_FILTER || e.code === NOTHING_TO_PUSH)) {
      ctx.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    // A step's failure at its Dockerfile line; with --progress json any failure (a push's too)
    // ends the stream with its build-failed event.
    const code = reportFailure(ctx.stderr, json, e, at());
    if (code === undefined) throw e;
    return code;
  } finally {
    interrupt.dispose();
  }
}
