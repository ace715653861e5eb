import type { Diagnostic } from '../diag/index.js';
import type { Dockerfile } from '../syntax/index.js';
import { applyCheckDirective, lintDockerfile, resolveStages, resolveStagesAsync, type BaseImageResolver, type Resolution, type ResolveOptions } from '../instructions/index.js';
import { buildPlan, type PlanOptions } from './build.js';
import type { Plan } from './types.js';

/**
 * The whole front half of a build from a parsed Dockerfile: lint warnings, typed instructions with
 * ARG/ENV scoping and expansion, then the pruned DAG. `plan` is absent when there are errors.
 * Pass the parser's own diagnostics in `parseDiagnostics` to have everything said once, in order.
 * A `# check=` directive filters the lint warnings or makes them errors.
 */
export function planDockerfile(
  ast: Dockerfile,
  opts: ResolveOptions & PlanOptions = {},
  parseDiagnostics: readonly Diagnostic[] = [],
): { plan?: Plan; diagnostics: Diagnostic[] } {
  return finishPlan(ast, opts, parseDiagnostics, resolveStages(ast, opts));
}

/**
 * planDockerfile for a build: base images (their Env, their ONBUILD triggers) come from `images`
 * while the stages resolve, so the Dockerfile is resolved once.
 */
export async function planDockerfileAsync(
  ast: Dockerfile,
  opts: Omit<ResolveOptions, 'imageEnv' | 'imageTriggers'> & PlanOptions,
  images: BaseImageResolver,
  parseDiagnostics: readonly Diagnostic[] = [],
): Promise<{ plan?: Plan; diagnostics: Diagnostic[] }> {
  const r = await resolveStagesAsync(ast, opts, images);
  // What the images' own ONBUILD text says comes first, as a parse error of that text.
  return finishPlan(ast, opts, [...parseDiagnostics, ...r.baseDiagnostics], r);
}

function finishPlan(ast: Dockerfile, opts: PlanOptions, parseDiagnostics: readonly Diagnostic[], { resolved, diagnostics }: Resolution): { plan?: Plan; diagnostics: Diagnostic[] } {
  const diags: Diagnostic[] = [...parseDiagnostics, ...lintDockerfile(ast)];
  diags.push(...diagnostics);
  let plan: Plan | undefined;
  if (!diags.some((d) => d.severity === 'error')) {
    const p = buildPlan(resolved, opts);
    diags.push(...p.diagnostics);
    plan = p.plan;
  }
  // `# check=error=true` can turn warnings into errors, so decide on the plan afterwards.
  const final = applyCheckDirective(dedupe(diags), ast.directives, ast.file);
  return { plan: final.some((d) => d.severity === 'error') ? undefined : plan, diagnostics: final };
}

/** The parser and the instruction layer can both see e.g. a forbidden ONBUILD trigger; say it once. */
function dedupe(ds: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.severity}|${d.message}|${d.range?.start ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
