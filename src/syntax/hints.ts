import { error, type Diagnostic, type SourceFile } from '../diag/index.js';
import { KNOWN_INSTRUCTIONS, type Dockerfile, type Instruction } from './ast.js';

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

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
