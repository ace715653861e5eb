/**
 * Everything `wharf parse` and `wharf plan` (and the front half of `wharf build`) do with a
 * Dockerfile's bytes, in-process: parse, unknown-instruction hints, both AST dumps, lint, scoping
 * and expansion, the plan with and without a target, its three renderings, and every diagnostic
 * printed. A throw from here is what the CLI would print as an internal error with a stack trace.
 */
import { SourceFile, formatDiagnostic, hasErrors } from '../../src/diag/index.js';
import { astToJson, dumpBuildkit, parseDockerfile, unknownInstructionDiagnostics } from '../../src/syntax/index.js';
import { planDockerfile, renderPlanDot, renderPlanJson, renderPlanText } from '../../src/plan/index.js';

export type FrontOutcome = 'accepted' | 'refused';

export function runFront(bytes: Buffer): FrontOutcome {
  // As the CLI reads a Dockerfile: UTF-8, invalid sequences become U+FFFD.
  const file = new SourceFile('Dockerfile', bytes.toString('utf8'));
  const { ast, diagnostics } = parseDockerfile(file);
  if (!ast) {
    for (const d of diagnostics) formatDiagnostic(d);
    return 'refused';
  }
  const parseDiags = [...diagnostics, ...unknownInstructionDiagnostics(ast)];
  for (const d of parseDiags) formatDiagnostic(d);
  JSON.stringify(astToJson(ast));
  dumpBuildkit(ast);
  const buildArgs = new Map([['A', 'a'], ['VERSION', '9'], ['BASE', 'busybox:test']]);
  const imageEnv = () => new Map([['PATH', '/usr/bin:/bin'], ['HOME', '/root']]);
  const planned = planDockerfile(ast, { buildArgs, imageEnv }, diagnostics);
  for (const d of planned.diagnostics) formatDiagnostic(d);
  if (planned.plan) {
    renderPlanText(planned.plan);
    renderPlanJson(planned.plan);
    renderPlanDot(planned.plan);
    const last = planned.plan.allStageNames.find((n): n is string => !!n);
    if (last) for (const d of planDockerfile(ast, { buildArgs, target: last }, diagnostics).diagnostics) formatDiagnostic(d);
  }
  return planned.plan && !hasErrors(planned.diagnostics) ? 'accepted' : 'refused';
}
