import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { CliContext } from './context.js';
import { SourceFile, formatDiagnostic, type Diagnostic } from '../diag/index.js';
import { UserError } from '../util/user-error.js';
import { parseDockerfile } from '../syntax/index.js';
import { lintDockerfile, resolveStages } from '../instructions/index.js';
import { buildPlan, renderPlanDot, renderPlanJson, renderPlanText } from '../plan/index.js';

export interface PlanCommandOptions {
  readonly context: string;
  readonly file?: string;
  readonly target?: string;
  readonly buildArg: readonly string[];
  readonly format: 'text' | 'json' | 'dot';
}

/** `--build-arg K=V`, or `--build-arg K` to take K from the environment (as docker does). */
export function parseBuildArgs(list: readonly string[], env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of list) {
    const eq = a.indexOf('=');
    if (eq === 0) throw new UserError('cli.bad-build-arg', `invalid --build-arg "${a}"`, 'write --build-arg NAME=value');
    if (eq > 0) out.set(a.slice(0, eq), a.slice(eq + 1));
    else if (env[a] !== undefined) out.set(a, env[a]!);
  }
  return out;
}

/** Parser and instruction layer can both see e.g. a forbidden ONBUILD trigger; say it once. */
function dedupe(ds: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.severity}|${d.message}|${d.range?.start ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export async function runPlan(ctx: CliContext, opts: PlanCommandOptions): Promise<number> {
  const contextDir = resolve(ctx.cwd, opts.context);
  const path = opts.file ? resolve(ctx.cwd, opts.file) : join(contextDir, 'Dockerfile');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError('cli.dockerfile-unreadable', `cannot read ${path}: ${code ?? String(e)}`, code === 'ENOENT' ? 'pass the Dockerfile with -f' : undefined);
  }
  const file = new SourceFile(relative(ctx.cwd, path) || path, text);
  const parsed = parseDockerfile(file);
  const diags: Diagnostic[] = [...parsed.diagnostics];
  let output: string | undefined;
  if (parsed.ast) {
    diags.push(...lintDockerfile(parsed.ast));
    const { resolved, diagnostics } = resolveStages(parsed.ast, { buildArgs: parseBuildArgs(opts.buildArg, ctx.env) });
    diags.push(...diagnostics);
    if (!diags.some((d) => d.severity === 'error')) {
      const p = buildPlan(resolved, { target: opts.target });
      diags.push(...p.diagnostics);
      if (p.plan) output = opts.format === 'json' ? renderPlanJson(p.plan) : opts.format === 'dot' ? renderPlanDot(p.plan) : renderPlanText(p.plan);
    }
  }
  for (const d of dedupe(diags)) ctx.stderr.write(formatDiagnostic(d) + '\n');
  if (diags.some((d) => d.severity === 'error') || output === undefined) return 1;
  ctx.stdout.write(output);
  return 0;
}
