import type { CliContext } from './context.js';
import { formatDiagnostic } from '../diag/index.js';
import { parseBuildArgs, plan } from '../api/index.js';
import { renderPlanDot, renderPlanJson, renderPlanText } from '../plan/index.js';

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
  const r = await plan({
    cwd: ctx.cwd,
    context: opts.context,
    ...(opts.file ? { dockerfile: opts.file } : {}),
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(opts.platform !== undefined ? { platform: opts.platform } : {}),
    buildArgs: parseBuildArgs(opts.buildArg, ctx.env),
    ...(opts.cache ? { cacheOf: opts.root } : {}),
  });
  for (const d of r.diagnostics) ctx.stderr.write(formatDiagnostic(d) + '\n');
  if (opts.cache) {
    if (!r.plan || r.diagnostics.some((d) => d.severity === 'error')) return 1;
    ctx.stdout.write(renderPlanDot(r.plan, r.cached));
    return 0;
  }
  if (!r.plan) return 1;
  const p = r.plan;
  ctx.stdout.write(opts.format === 'json' ? renderPlanJson(p) : opts.format === 'dot' ? renderPlanDot(p) : renderPlanText(p));
  return 0;
}
