import { readRegularFile } from '../util/read-regular.js';
import { join, relative, resolve } from 'node:path';
import type { CliContext } from './context.js';
import { MAX_DOCKERFILE_BYTES } from './build-input.js';
import { SourceFile, formatDiagnostic } from '../diag/index.js';
import { UserError } from '../util/user-error.js';
import { parseDockerfile } from '../syntax/index.js';
import type { Platform } from '../instructions/index.js';
import { planDockerfile, renderPlanDot, renderPlanJson, renderPlanText } from '../plan/index.js';

export interface PlanCommandOptions {
  readonly context: string;
  readonly file?: string;
  readonly target?: string;
  readonly platform: string;
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

export function parsePlatform(text: string): Platform {
  const m = /^([a-z0-9_-]+)\/([a-z0-9_-]+)(?:\/([a-z0-9_.-]+))?$/i.exec(text);
  if (!m) throw new UserError('cli.bad-platform', `invalid --platform "${text}"`, 'write os/arch[/variant], e.g. linux/arm64');
  return { os: m[1]!.toLowerCase(), architecture: m[2]!.toLowerCase(), variant: m[3] };
}

export async function runPlan(ctx: CliContext, opts: PlanCommandOptions): Promise<number> {
  const targetPlatform = parsePlatform(opts.platform);
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
  const parsed = parseDockerfile(file);
  const { plan, diagnostics } = parsed.ast
    ? planDockerfile(parsed.ast, { buildArgs: parseBuildArgs(opts.buildArg, ctx.env), target: opts.target, targetPlatform }, parsed.diagnostics)
    : { plan: undefined, diagnostics: parsed.diagnostics };
  for (const d of diagnostics) ctx.stderr.write(formatDiagnostic(d) + '\n');
  if (!plan) return 1;
  ctx.stdout.write(opts.format === 'json' ? renderPlanJson(plan) : opts.format === 'dot' ? renderPlanDot(plan) : renderPlanText(plan));
  return 0;
}
