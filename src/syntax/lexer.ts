import moo from 'moo';
import type { EscapeChar } from './ast.js';

/**
 * moo lexers for one logical instruction line (continuations already joined) and for the JSON
 * array form. The line lexer is stateful the way BuildKit's line parsers are: the keyword decides
 * how the rest is cut (one raw `rest` token for shell/string forms, whitespace-split words for
 * FROM/COPY/…, quote-aware words for ENV/LABEL/ARG), and leading `--flags` come first everywhere.
 */

/** Instruction families by how BuildKit parses their arguments (see line_parsers.go). */
const FAMILIES = {
  kwJson: ['run', 'cmd', 'entrypoint', 'shell'], // parseMaybeJSON
  kwString: ['maintainer', 'user', 'workdir', 'stopsignal'], // parseString
  kwJsonList: ['add', 'copy', 'volume'], // parseMaybeJSONToList
  kwSplit: ['from', 'expose'], // parseStringsWhitespaceDelimited
  kwNameVal: ['env', 'label'], // parseNameVal
  kwArg: ['arg'], // parseNameOrNameVal
  kwHealth: ['healthcheck'], // parseHealthConfig
  kwOnbuild: ['onbuild'], // parseSubCommand
} as const;

export type KeywordFamily = keyof typeof FAMILIES | 'kwOther';

/** `run` → `[rR][uU][nN]`: moo refuses the /i flag. */
const caseless = (w: string): string => [...w].map((c) => `[${c.toLowerCase()}${c.toUpperCase()}]`).join('');
const keywordRe = (words: readonly string[]): RegExp => new RegExp(`(?:${words.map(caseless).join('|')})(?!\\S)`);

const NEXT_STATE: Record<KeywordFamily, string> = {
  kwJson: 'flagsRest',
  kwString: 'flagsRest',
  kwOther: 'flagsRest',
  kwJsonList: 'flagsList',
  kwSplit: 'flagsList',
  kwNameVal: 'flagsWords',
  kwArg: 'flagsWords',
  kwHealth: 'flagsHealth',
  kwOnbuild: 'flagsOnbuild',
};

/**
 * The keyword rules of an instruction and of an ONBUILD trigger: one set, with optional blanks
 * before the keyword (a line is trimmed, and a trigger's keyword follows blanks). Identical
 * patterns in the three states that use them are compiled once: V8 keeps compiled regular
 * expressions by source, and moo compiles each rule twice to check it, which for distinct
 * patterns was a third of building this lexer at every start (~1 ms).
 */
function keywordRules(): moo.Rules {
  const lead = '[^\\S\\n]*';
  const rules: moo.Rules = {};
  for (const [family, words] of Object.entries(FAMILIES)) {
    rules[family] = { match: new RegExp(lead + keywordRe(words).source), next: NEXT_STATE[family as KeywordFamily] };
  }
  rules['kwOther'] = { match: new RegExp(lead + '[^\\s]+'), next: 'flagsRest' };
  return rules;
}

/**
 * After the keyword every token carries the blanks before it (`" --flag"`, `" word"`): half the
 * tokens for nearley to step through; the grammar's postprocessors strip them again. Logical lines
 * never hold a newline (the line pass splits on them) and are trimmed, so no rule matches one and
 * nothing trails the last token.
 */
const B = '[^\\S\\n]+';
const blanks = (re: RegExp): RegExp => new RegExp(B + re.source);
/** `--` alone ends the flags (BuildKit drops it). */
const END_FLAGS = blanks(/--(?!\S)/);
/**
 * A flag word as extractBuilderFlags reads it: `\` always escapes (whatever the escape directive
 * says) and quotes may hold spaces; an unterminated quote runs to the end of the line.
 */
const FLAG = blanks(/--(?:[^\s"'\\]|\\[^\n]?|"(?:[^"\\\n]|\\[^\n]?)*"?|'(?:[^'\\\n]|\\[^\n]?)*'?)*/);
/** Everything from the first argument on. */
const REST = blanks(/\S[^\n]*/);
const TYPE = blanks(/[^\s]+/);
/** parseStringsWhitespaceDelimited splits on these blanks only (after the first, which may be any). */
const LIST_WORD_FIRST = blanks(/[^\t\v\f\r \n]+/);
const LIST_WORD = /[\t\v\f\r ]+[^\t\v\f\r \n]+/;

function escapeRe(e: EscapeChar): string {
  return e === '\\' ? '\\\\' : '`';
}

/** A word as parseWords reads it: quotes group, the escape char protects one char (kept raw). */
function nameValWord(e: EscapeChar): RegExp {
  const E = escapeRe(e);
  return new RegExp(`${B}(?:[^\\s${E}"']|${E}[^\\n]?|"(?:[^"${E}\\n]|${E}[^\\n]?)*"?|'[^'\\n]*'?)+`);
}

function buildLineLexer(escape: EscapeChar): moo.Lexer {
  return moo.states({
    main: keywordRules(),
    flagsRest: { endFlags: { match: END_FLAGS, next: 'restOnly' }, flag: FLAG, rest: REST },
    restOnly: { rest: REST },
    flagsList: { endFlags: { match: END_FLAGS, next: 'listFirst' }, flag: FLAG, word: { match: LIST_WORD_FIRST, next: 'listOnly' } },
    listFirst: { word: { match: LIST_WORD_FIRST, next: 'listOnly' } },
    listOnly: { word: LIST_WORD },
    flagsWords: { endFlags: { match: END_FLAGS, next: 'wordsOnly' }, flag: FLAG, word: { match: nameValWord(escape), next: 'wordsOnly' } },
    wordsOnly: { word: nameValWord(escape) },
    flagsHealth: { endFlags: { match: END_FLAGS, next: 'healthType' }, flag: FLAG, htype: { match: TYPE, next: 'restOnly' } },
    healthType: { htype: { match: TYPE, next: 'restOnly' } },
    flagsOnbuild: { endFlags: { match: END_FLAGS, next: 'trigger' }, flag: FLAG, ...keywordRules() },
    trigger: keywordRules(),
  });
}

const lineLexers = new Map<EscapeChar, moo.Lexer>();

/** The instruction-line lexer for an escape character (built once per character). */
export function lineLexer(escape: EscapeChar): moo.Lexer {
  let l = lineLexers.get(escape);
  if (!l) {
    l = buildLineLexer(escape);
    lineLexers.set(escape, l);
  }
  return l;
}

/**
 * JSON tokens for the exec form. `bad` catches anything JSON does not allow, so the grammar
 * rejects it and the instruction falls back to shell form, as BuildKit does.
 */
export function jsonLexer(): moo.Lexer {
  return (jsonLexerBuilt ??= buildJsonLexer());
}

let jsonLexerBuilt: moo.Lexer | undefined;

const buildJsonLexer = (): moo.Lexer => moo.compile({
  // Every token carries the JSON blanks before it: fewer tokens for nearley to step through.
  jLbrack: { match: /[ \t\n\r]*\[/, lineBreaks: true },
  jRbrack: { match: /[ \t\n\r]*\]/, lineBreaks: true },
  jLbrace: { match: /[ \t\n\r]*\{/, lineBreaks: true },
  jRbrace: { match: /[ \t\n\r]*\}/, lineBreaks: true },
  jComma: { match: /[ \t\n\r]*,/, lineBreaks: true },
  jColon: { match: /[ \t\n\r]*:/, lineBreaks: true },
  jString: { match: /[ \t\n\r]*"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/, lineBreaks: true },
  jNumber: { match: /[ \t\n\r]*-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/, lineBreaks: true },
  jLiteral: { match: /[ \t\n\r]*(?:true|false|null)/, lineBreaks: true },
  jBad: { match: /[^]/, lineBreaks: true },
});
