import { readRegularFile, UserError, hostPlatform } from '../util/index.js';
import { join, relative, resolve } from 'node:path';
import type { CliContext } from './context.js';
import { MAX_DOCKERFILE_BYTES } from '../api/index.js';
import { SourceFile, formatDiagnostic } from '../diag/index.js';
import { parseDockerfile } from '../syntax/index.js';
import { checkBaseReference, parseBuildArgs, parsePlatform, planCacheState } from '../api/index.js';
import { planDockerfile, renderPlanDot, renderPlanJson, renderPlanText } from '../plan/index.js';

export interface PlanCommandOptions {
  readonly context: string;
  readonly file?: string;
  readonly target?: string;
  /** `--platform`; default this host, as `build` has it. */
  readonly platform?: string;
  readonly buildArg: readonly string[];
  readonly format: 'text' | 'json' | 'dot';
  /** `--cache` (dot only): colour each step by whether a cache record exists for it now, in this store. */
  readonly cache?: boolean;
  readonly root: string;
}

export async function runPlan(ctx: CliContext, opts: PlanCommandOptions): Promise<number> {
  if (opts.cache && opts.format !== 'dot') {
    ctx.stderr.write(`error: --cache colours the graph of --format dot; add --format dot (this is --format ${opts.format})\n`);
    return 2;
  }
  const buildPlatform = hostPlatform();
  const targetPlatform = opts.platform === undefined ? buildPlatform : parsePlatform(opts.platform);
  const contextDir = resolve(ctx.cwd, opts.context);
  const path = opts.file ? resolve(ctx.cwd, opts.file) : join(contextDir, 'Dockerfile');
  let text: string;
  try {
    // As build reads it: a FIFO or device in the context's place must not hang or exhaust `plan`.
    text = (await readRegularFile(path, { maxBytes: MAX_DOCKERFILE_BYTES, what: `the Dockerfile ${path}`, followSymlink: true })).toString('utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError('cli.dockerfile-unreadable', `cannot read ${path}: ${code ?? String(e)}`, code === 'ENOENT' ? 'pass the Dockerfile with -f' : undefined);
  }
  const file = new SourceFile(relative(ctx.cwd, path) || path, text);
  if (opts.cache) {
    // Planned as a build plans (base images' Env from the store), with each step's key made.
    const r = await planCacheState({
      root: opts.root,
      contextDir,
      dockerfilePath: path,
      dockerfileName: file.name,
      text,
      buildArgs: parseBuildArgs(opts.buildArg, ctx.env),
      ...(opts.target !== undefined ? { target: opts.target } : {}),
      ...(opts.platform !== undefined ? { platform: opts.platform } : {}),
    });
    for (const d of r.diagnostics) ctx.stderr.write(formatDiagnostic(d) + '\n');
    if (!r.plan || r.diagnostics.some((d) => d.severity === 'error')) return 1;
    ctx.stdout.write(renderPlanDot(r.plan, r.cached));
    return 0;
  }
  const parsed = parseDockerfile(file);
  const { plan, diagnostics } = parsed.ast
    ? planDockerfile(parsed.ast, { buildArgs: parseBuildArgs(opts.buildArg, ctx.env), target: opts.target, targetPlatform, buildPlatform, checkReference: checkBaseReference }, parsed.diagnostics)
    : { plan: undefined, diagnostics: parsed.diagnostics };
  for (const d of diagnostics) ctx.stderr.write(formatDiagnostic(d) + '\n');
  if (!plan) return 1;
  ctx.stdout.write(opts.format === 'json' ? renderPlanJson(plan) : opts.format === 'dot' ? renderPlanDot(plan) : renderPlanText(plan));
  return 0;
}
