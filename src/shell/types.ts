// The shapes of an expansion, below both the public entry points (index.ts) and the lexer.

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
