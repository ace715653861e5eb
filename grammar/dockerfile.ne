# Dockerfile instruction grammar over the moo tokens of src/syntax/lexer.ts.
#
# The driver (src/syntax/parse.ts) feeds one logical instruction line at a time (continuations
# joined, heredoc bodies set aside); this grammar gives its structure: keyword, leading flags and
# the arguments in the shape of the keyword's family. `jsonDoc` (from _json.ne) is a second start
# symbol used on exec-form arguments.
@preprocessor typescript

@{%
import type moo from 'moo';
import { lineLexer } from '../lexer.js';
import type { JsonValue, LineSyntax, Tok } from '../line-syntax.js';

/**
 * The grammar's own lexer is only asked `has` while this module loads; the parser is always given
 * the lexer for the line's escape character (instruction.ts). Building a moo lexer takes ~2 ms,
 * which a build whose Dockerfile was parsed before never needs (api/parse-cache.ts), so the
 * default one is built on its first use.
 */
const lexer = {
  has: (_type: string): boolean => true,
  reset: (chunk: string, info?: moo.LexerState) => void lineLexer('\\').reset(chunk, info),
  next: () => lineLexer('\\').next(),
  save: () => lineLexer('\\').save(),
  formatError: (token: moo.Token, message?: string) => lineLexer('\\').formatError(token, message),
};

/** Tokens after the keyword carry their leading blanks (see lexer.ts); drop them here. */
const strip = (t: Tok): Tok => {
  const lead = t.text.length - t.text.trimStart().length;
  if (lead) {
    // moo hands out a fresh object per token: adjusting it in place saves an allocation per token.
    const m = t as { text: string; offset: number };
    m.text = m.text.slice(lead);
    m.offset += lead;
  }
  return t;
};
const tok = (d: any[]): Tok => strip(d[0] as Tok);
/**
 * What follows the keyword; built right to left, so flags are prepended. Postprocessors extend
 * their children's arrays in place: safe because the grammar is unambiguous (parseLineSyntax checks
 * for exactly one parse), so no data object is shared by two surviving derivations.
 */
interface Tail {
  flags: Tok[];
  endFlags?: Tok | undefined;
  words: Tok[];
  rest?: Tok | undefined;
  htype?: Tok | undefined;
  trigger?: LineSyntax | undefined;
}
const emptyTail = (): Tail => ({ flags: [], words: [] });
const withFlags = (d: any[]): Tail => ({ ...(d[1] as Tail), flags: d[0] as Tok[] });
const afterEnd = (d: any[]): Tail => ({ ...(d[1] as Tail), endFlags: strip(d[0] as Tok) });
const node = (family: LineSyntax['family']) => (d: any[]): LineSyntax => {
  const t = d[1] as Tail;
  return { family, keyword: strip(d[0] as Tok), flags: t.flags, endFlags: t.endFlags, words: t.words, rest: t.rest, htype: t.htype, trigger: t.trigger };
};
%}

@lexer lexer

# The driver trims the line first (BuildKit TrimSpace's it too), so no blanks at either end.
line -> instruction {% id %}

# Each family: the keyword, then a tail of leading flags (a bare `--` ends them) and the arguments
# in the family's shape. Tails use no optional (nullable) EBNF, which keeps the Earley chart small:
# this grammar runs once per instruction.
instruction ->
    %kwJson restTail               {% node('kwJson') %}
  | %kwString restTail             {% node('kwString') %}
  | %kwOther restTail              {% node('kwOther') %}
  | %kwJsonList wordsTail          {% node('kwJsonList') %}
  | %kwSplit wordsTail             {% node('kwSplit') %}
  | %kwNameVal wordsTail           {% node('kwNameVal') %}
  | %kwArg wordsTail               {% node('kwArg') %}
  | %kwHealth healthTail           {% node('kwHealth') %}
  | %kwOnbuild onbuildTail         {% node('kwOnbuild') %}

restTail -> restBody               {% id %}
  | flags restBody                 {% withFlags %}
restBody -> null                   {% emptyTail %}
  | %endFlags restArgs             {% afterEnd %}
  | %rest                          {% (d) => ({ flags: [], words: [], rest: tok(d) }) %}
restArgs -> null                   {% emptyTail %}
  | %rest                          {% (d) => ({ flags: [], words: [], rest: tok(d) }) %}

wordsTail -> wordsBody             {% id %}
  | flags wordsBody                {% withFlags %}
wordsBody -> null                  {% emptyTail %}
  | %endFlags wordArgs             {% afterEnd %}
  | words                          {% (d) => ({ flags: [], words: d[0] as Tok[] }) %}
wordArgs -> null                   {% emptyTail %}
  | words                          {% (d) => ({ flags: [], words: d[0] as Tok[] }) %}
# Left-recursive lists: Earley (nearley has no Leo items) is linear on them and quadratic on
# right recursion, which made a line of 6,000 flags take seconds.
flags -> %flag                     {% (d) => [tok(d)] %}
  | flags %flag                    {% (d) => { (d[0] as Tok[]).push(strip(d[1] as Tok)); return d[0] as Tok[]; } %}
words -> %word                     {% (d) => [tok(d)] %}
  | words %word                    {% (d) => { (d[0] as Tok[]).push(strip(d[1] as Tok)); return d[0] as Tok[]; } %}

healthTail -> healthBody           {% id %}
  | flags healthBody               {% withFlags %}
healthBody -> null                 {% emptyTail %}
  | %endFlags healthArgs           {% afterEnd %}
  | health                         {% id %}
healthArgs -> null                 {% emptyTail %}
  | health                         {% id %}
health -> %htype                   {% (d) => ({ flags: [], words: [], htype: tok(d) }) %}
  | %htype %rest                   {% (d) => ({ flags: [], words: [], htype: tok(d), rest: strip(d[1] as Tok) }) %}

onbuildTail -> onbuildBody         {% id %}
  | flags onbuildBody              {% withFlags %}
onbuildBody -> null                {% emptyTail %}
  | %endFlags triggerArgs          {% afterEnd %}
  | instruction                    {% (d) => ({ flags: [], words: [], trigger: d[0] as LineSyntax }) %}
triggerArgs -> null                {% emptyTail %}
  | instruction                    {% (d) => ({ flags: [], words: [], trigger: d[0] as LineSyntax }) %}

@include "_json.ne"
