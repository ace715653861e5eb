import type { KeywordFamily } from './lexer.js';

/** A moo token as the grammar sees it; `offset` counts from the start of the logical line. */
export interface Tok {
  readonly type?: string | undefined;
  readonly text: string;
  readonly offset: number;
}

/**
 * What the nearley grammar makes of one logical instruction line: the keyword token, its flag
 * tokens and its argument tokens in the family's shape. The builder turns this into AST nodes.
 */
export interface LineSyntax {
  readonly family: KeywordFamily;
  readonly keyword: Tok;
  readonly flags: readonly Tok[];
  readonly endFlags: Tok | undefined;
  /** Word tokens (list, name-value and ARG families). */
  readonly words: readonly Tok[];
  /** The raw rest of the line (string/shell families, HEALTHCHECK's command). */
  readonly rest?: Tok | undefined;
  /** HEALTHCHECK's type word (`CMD`, `NONE`, …). */
  readonly htype?: Tok | undefined;
  /** ONBUILD's trigger instruction. */
  readonly trigger?: LineSyntax | undefined;
}

/** A JSON array element: strings keep their token (for decoding and ranges); others only their kind. */
export type JsonValue = { readonly kind: 'string'; readonly token: Tok } | { readonly kind: 'other' };
