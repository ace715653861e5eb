/**
 * Shell-word expansion and splitting, as BuildKit's Dockerfile shell lexer does it (not a shell:
 * no command substitution, no globbing). One word in, the expanded value (and, for splitting, the
 * words) out, plus which variable names were read and which were unset.
 *
 *   expandWord('${A:-x}/bin', env)   → { value, used, unset }
 *   expandWords('$FLAGS "a b"', env) → { words, used, unset }
 */
import type { Result } from '../util/result.js';
import { processWord } from './lexer.js';

/** Variables visible to an expansion (a Map will do); names are case-sensitive. */
export interface ShellEnv {
  get(name: string): string | undefined;
}

export interface ExpandOptions {
  /** The Dockerfile escape character: `\` (default) or a backtick. */
  readonly escape?: '\\' | '`';
  /** Keep escape characters in the output (BuildKit's RawEscapes; used for some flag values). */
  readonly rawEscapes?: boolean;
  /** Leave quotes alone and expand only `$` (BuildKit's SkipProcessQuotes, for heredoc bodies). */
  readonly skipQuotes?: boolean;
}

export interface Expansion {
  /** The word after expansion and quote removal, spaces between words kept. */
  readonly value: string;
  /** The word split into fields (unquoted spaces separate; quoted spaces do not). */
  readonly words: readonly string[];
  /** Names that were referenced and set. */
  readonly used: ReadonlySet<string>;
  /** Names that were referenced but not set. */
  readonly unset: ReadonlySet<string>;
  /** The unset names read as plain `$v`/`${v}`, with no modifier saying what to do when unset. */
  readonly unsetBare: ReadonlySet<string>;
}

/** Why an expansion failed, in BuildKit's words (e.g. `VAR: is not allowed to be unset`). */
export interface ShellError {
  readonly code: 'shell.syntax' | 'shell.required' | 'shell.pattern' | 'shell.too-deep';
  readonly message: string;
}

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
