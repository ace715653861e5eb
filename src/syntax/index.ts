/**
 * syntax: Dockerfile text → AST with source ranges (moo lexer + nearley grammar, see grammar/).
 *
 *   parseDockerfile(file) → { ast?, diagnostics }
 *
 * `ast` is absent only when the file cannot be parsed at all; diagnostics may accompany an AST.
 */
export * from './ast.js';
export { parseDockerfile, type ParseResult } from './parse.js';
export { dumpBuildkit } from './dump.js';
export { chompHeredocContent, parseHeredocWord, heredocsFromLine, type HeredocOpener } from './heredoc.js';
export { unknownInstructionDiagnostic, unknownInstructionDiagnostics, suggestInstruction, editDistance } from './hints.js';
export { astToJson, type JsonRange } from './json.js';
