/**
 * syntax: Dockerfile text → AST with source ranges (moo lexer + nearley grammar, see grammar/).
 *
 *   parseDockerfile(file)          → { ast?, diagnostics }   ast absent only when nothing usable parsed;
 *                                    errors: bad/repeated directive, malformed exec-form JSON, ENV/LABEL
 *                                    syntax, unterminated heredoc, no instructions, forbidden ONBUILD
 *                                    triggers (these come with an AST); warnings: empty continuation lines
 *   unknownInstructionDiagnostics  → "unknown instruction: X" + "did you mean" (the parser keeps such
 *                                    instructions as nodes, as BuildKit does; callers decide to report)
 *   dumpBuildkit(ast)              → BuildKit's parser AST dump (its golden `result` format)
 *   astToJson(ast)                 → plain JSON with line/col ranges (`wharf parse --format json`)
 *   chompHeredocContent            → the heredoc helper for COPY/RUN lowering
 */
export type { Args, Directive, Dockerfile, Flag, Heredoc, Instruction, Word } from './ast.js';
export { parseDockerfile, type ParseResult } from './parse.js';
export { PARSER_ID } from './generated/parser-id.js';
export { dumpBuildkit } from './dump.js';
export { chompHeredocContent } from './heredoc.js';
export { unknownInstructionDiagnostic, unknownInstructionDiagnostics } from './hints.js';
export { astToJson } from './json.js';
