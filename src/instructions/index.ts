/**
 * instructions: AST → typed instructions with validated flags, then stages with ARG/ENV scoping
 * and shell-word expansion applied where BuildKit applies it.
 *
 *   parseInstruction(node, file, diags) → TypedInstruction | undefined   (no expansion)
 *   resolveStages(ast, { buildArgs, targetPlatform, imageEnv }) → { resolved: { stages }, diagnostics }
 *   lintDockerfile(ast) → warnings (MAINTAINER, legacy ENV, JSON args, stage-name casing)
 */
export * from './types.js';
export { parseInstruction, parseGoDuration } from './parse.js';
export { FLAG_SPECS } from './flags.js';
export { parseMount, splitCsv } from './mount.js';
export * from './scope.js';
export { lintDockerfile } from './lint.js';
