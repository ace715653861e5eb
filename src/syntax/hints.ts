import { editDistance, error, type Diagnostic, type SourceFile } from '../diag/index.js';
import { KNOWN_INSTRUCTIONS, type Dockerfile, type Instruction } from './ast.js';

/** The known instruction closest to `word` (case-insensitive), if it is plausibly a typo. */
export function suggestInstruction(word: string): string | undefined {
  const w = word.toUpperCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of KNOWN_INSTRUCTIONS) {
    const d = editDistance(w, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= Math.max(1, Math.floor(w.length / 3)) ? best : undefined;
}

/**
 * `unknown instruction: COPPY` pointing at the keyword, with a "did you mean" hint. The parser
 * keeps unknown instructions as nodes (as BuildKit does); callers that build or lint report them.
 */
export function unknownInstructionDiagnostic(file: SourceFile, inst: Instruction): Diagnostic {
  const guess = suggestInstruction(inst.keywordText);
  return error(
    'syntax.unknown-instruction',
    `unknown instruction: ${inst.keywordText}`,
    file,
    inst.keywordRange,
    guess ? `did you mean ${guess}?` : `known instructions: ${KNOWN_INSTRUCTIONS.join(', ')}`,
  );
}

/** Diagnostics for every unknown instruction in a file, ONBUILD triggers included. */
export function unknownInstructionDiagnostics(ast: Dockerfile): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const top of ast.instructions) {
    for (let i: Instruction | undefined = top; i; i = i.trigger) if (!i.known) out.push(unknownInstructionDiagnostic(ast.file, i));
  }
  return out;
}
