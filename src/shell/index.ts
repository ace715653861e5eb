/**
 * Shell-word expansion and splitting, as BuildKit's Dockerfile shell lexer does it (not a shell:
 * no command substitution, no globbing). One word in, the expanded value (and, for splitting, the
 * words) out, plus which variable names were read and which were unset.
 *
 *   expandWord('${A:-x}/bin', env)   → { value, used, unset }
 *   expandWords('$FLAGS "a b"', env) → { words, used, unset }
 */
import type { Result } from '../util/index.js';
import { processWord } from './lexer.js';
import type { ExpandOptions, Expansion, ShellEnv, ShellError } from './types.js';

export type { ShellEnv } from './types.js';

/** Expands one word (BuildKit's ProcessWord); the result also carries its fields in `words`. */
export function expandWord(word: string, env: ShellEnv, opts: ExpandOptions = {}): Result<Expansion, ShellError> {
  return processWord(word, env, opts.escape ?? '\\', opts.rawEscapes ?? false, opts.skipQuotes ?? false);
}

/** Expands and splits into fields (BuildKit's ProcessWords): read `words` of the result. */
export const expandWords = expandWord;

/** Builds an environment from `K=V` strings (a later entry for the same key wins; `K` alone is empty). */
export function envFromList(list: readonly string[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const e of list) {
    const i = e.indexOf('=');
    if (i < 0) env.set(e, '');
    else env.set(e.slice(0, i), e.slice(i + 1));
  }
  return env;
}
