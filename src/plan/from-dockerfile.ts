import type { Diagnostic } from '../diag/index.js';
import type { Dockerfile } from '../syntax/index.js';
import { lintDockerfile, resolveStages, type ResolveOptions } from '../instructions/index.js';
import { buildPlan, type PlanOptions } from './build.js';
import type { Plan } from './types.js';

/**
 * The whole front half of a build from a parsed Dockerfile: lint warnings, typed instructions with
 * ARG/ENV scoping and expansion, then the pruned DAG. `plan` is absent when there are errors.
 * Pass the parser's own diagnostics in `parseDiagnostics` to have everything said once, in order.
 */
export function planDockerfile(
  ast: Dockerfile,
  opts: ResolveOptions & PlanOptions = {},
  parseDiagnostics: readonly Diagnostic[] = [],
): { plan?: Plan; diagnostics: Diagnostic[] } {
  const diags: Diagnostic[] = [...parseDiagnostics, ...lintDockerfile(ast)];
  const { resolved, diagnostics } = resolveStages(ast, opts);
  diags.push(...diagnostics);
  let plan: Plan | undefined;
  if (!diags.some((d) => d.severity === 'error')) {
    const p = buildPlan(resolved, opts);
    diags.push(...p.diagnostics);
    plan = p.plan;
  }
  return { plan: diags.some((d) => d.severity === 'error') ? undefined : plan, diagnostics: dedupe(diags) };
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
