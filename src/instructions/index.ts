/**
 * instructions: AST → typed instructions with validated flags, then stages with ARG/ENV scoping
 * and shell-word expansion applied where BuildKit applies it.
 *
 *   parseInstruction(node, file, diags) → TypedInstruction | undefined   (no expansion)
 *   resolveStages(ast, { buildArgs, target, targetPlatform, imageEnv }) → { resolved: { stages }, diagnostics }
 *     (also the expansion-time checks: UndefinedVar, UndefinedArgInFrom, EXPOSE format)
 *   resolveStagesAsync(ast, opts, images) → the same, asking an injected BaseImageResolver for base images
 *   lintDockerfile(ast) → BuildKit's cheap lint warnings (codes `lint.*`, see LINT_RULES)
 *   applyCheckDirective(diags, ast.directives, file) → honours `# check=skip=…;error=true`
 */
export * from './types.js';
export { parseInstruction, parseGoDuration } from './parse.js';
export { FLAG_SPECS } from './flags.js';
export { parseMount, splitCsv } from './mount.js';
export * from './scope.js';
export {
  DEFAULT_PATH,
  DEFAULT_PLATFORM,
  PROXY_ARGS,
  platformArgs,
  type BaseImage,
  type ResolveOptions,
  type Resolution,
  type ResolvedDockerfile,
  type RunEnv,
  type Stage,
  type Step,
} from './stages.js';
export type { Platform } from '../util/platform.js';
export { resolveStagesAsync, type BaseImageConfig, type BaseImageResolver } from './base-image.js';
export { lintDockerfile } from './lint.js';
export { applyCheckDirective, LINT_RULES } from './check-directive.js';
export { parseChmod, CHMOD_HINT, type ChmodSpec } from './chmod.js';
