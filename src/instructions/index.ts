/**
 * instructions: AST → typed instructions with validated flags, then stages with ARG/ENV scoping
 * and shell-word expansion applied where BuildKit applies it.
 *
 *   parseInstruction(node, file, diags) → TypedInstruction | undefined   (no expansion)
 *   resolveStages(ast, { buildArgs, target, targetPlatform, imageEnv }) → { resolved: { stages }, diagnostics }
 *     (also the expansion-time checks: UndefinedVar, UndefinedArgInFrom, EXPOSE format)
 *   resolveStagesAsync(ast, opts, images) → the same, asking an injected BaseImageResolver for base images
 *   lintDockerfile(ast) → BuildKit's cheap lint warnings (codes `lint.*`, see LINT_RULES in check-directive.ts)
 *   applyCheckDirective(diags, ast.directives, file) → honours `# check=skip=…;error=true`
 */
export type {
  ArgInstruction,
  CmdInstruction,
  Command,
  CopyInstruction,
  EnvInstruction,
  FromInstruction,
  HealthcheckInstruction,
  ListInstruction,
  Mount,
  OnbuildInstruction,
  RunInstruction,
  Sharing,
  ShellInstruction,
  TextInstruction,
  TypedInstruction,
} from './types.js';
export { parseInstruction } from './parse.js';
export { resolveStages } from './scope.js';
export { DEFAULT_PATH, type ResolveOptions, type Resolution, type ResolvedDockerfile, type RunEnv, type Stage, type Step } from './stages.js';
export { resolveStagesAsync, type BaseImageResolver } from './base-image.js';
export { lintDockerfile } from './lint.js';
export { applyCheckDirective } from './check-directive.js';
export { parseChmod, CHMOD_HINT, type ChmodSpec } from './chmod.js';
export { mountTarget } from './mount.js';
