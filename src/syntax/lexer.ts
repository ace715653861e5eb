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

function keywordRules(): moo.Rules {
  const rules: moo.Rules = {};
  for (const [family, words] of Object.entries(FAMILIES)) rules[family] = { match: keywordRe(words), next: NEXT_STATE[family as KeywordFamily] };
  rules['kwOther'] = { match: /[^\s]+/, next: 'flagsRest' };
  return rules;
}

// Logical lines never hold a newline (the line pass splits on them), so no rule matches one.
const WS = /[^\S\n]+/;
/** `--` alone ends the flags (BuildKit drops it). */
const END_FLAGS = /--(?!\S)/;
/**
 * A flag word as extractBuilderFlags reads it: `\` always escapes (whatever the escape directive
 * says) and quotes may hold spaces; an unterminated quote runs to the end of the line.
 */
const FLAG = /--(?:[^\s"'\\]|\\[^\n]?|"(?:[^"\\\n]|\\[^\n]?)*"?|'(?:[^'\\\n]|\\[^\n]?)*'?)*/;
/** Everything from the first argument on, trailing blanks included (trimmed by the builder). */
const REST = /\S[^\n]*/;
/** parseStringsWhitespaceDelimited splits on these only. */
const LIST_WS = /[\t\v\f\r ]+/;
const LIST_WORD = /[^\t\v\f\r \n]+/;

function escapeRe(e: EscapeChar): string {
  return e === '\\' ? '\\\\' : '`';
}

/** A word as parseWords reads it: quotes group, the escape char protects one char (kept raw). */
function nameValWord(e: EscapeChar): RegExp {
  const E = escapeRe(e);
  return new RegExp(`(?:[^\\s${E}"']|${E}[^\\n]?|"(?:[^"${E}\\n]|${E}[^\\n]?)*"?|'[^'\\n]*'?)+`);
}

function buildLineLexer(escape: EscapeChar): moo.Lexer {
  const kw = keywordRules();
  return moo.states({
    main: { ws: { match: WS }, ...kw },
    flagsRest: { ws: { match: WS }, endFlags: { match: END_FLAGS, next: 'restOnly' }, flag: FLAG, rest: REST },
    restOnly: { ws: { match: WS }, rest: REST },
    flagsList: {
      ws: { match: WS },
      endFlags: { match: END_FLAGS, next: 'listOnly' },
      flag: FLAG,
      word: { match: LIST_WORD, next: 'listOnly' },
    },
    listOnly: { ws: { match: LIST_WS }, word: LIST_WORD },
    flagsWords: {
      ws: { match: WS },
      endFlags: { match: END_FLAGS, next: 'wordsOnly' },
      flag: FLAG,
      word: { match: nameValWord(escape), next: 'wordsOnly' },
    },
    wordsOnly: { ws: { match: WS }, word: nameValWord(escape) },
    flagsHealth: {
      ws: { match: WS },
      endFlags: { match: END_FLAGS, next: 'healthType' },
      flag: FLAG,
      htype: { match: /[^\s]+/, next: 'restOnly' },
    },
    healthType: { ws: { match: WS }, htype: { match: /[^\s]+/, next: 'restOnly' } },
    flagsOnbuild: { ws: { match: WS }, endFlags: { match: END_FLAGS, next: 'main' }, flag: FLAG, ...keywordRules() },
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
export const jsonLexer = moo.compile({
  jWs: { match: /[ \t\n\r]+/, lineBreaks: true },
  jLbrack: '[',
  jRbrack: ']',
  jLbrace: '{',
  jRbrace: '}',
  jComma: ',',
  jColon: ':',
  jString: /"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/,
  jNumber: /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/,
  jLiteral: /true|false|null/,
  jBad: { match: /[^]/, lineBreaks: true },
});
