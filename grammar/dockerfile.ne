# Dockerfile instruction grammar over the moo tokens of src/syntax/lexer.ts.
#
# The driver (src/syntax/parse.ts) feeds one logical instruction line at a time (continuations
# joined, heredoc bodies set aside); this grammar gives its structure: keyword, leading flags and
# the arguments in the shape of the keyword's family. `jsonDoc` (from _json.ne) is a second start
# symbol used on exec-form arguments.
@preprocessor typescript

@{%
import { lineLexer } from '../lexer.js';
import type { JsonValue, LineSyntax, Tok } from '../line-syntax.js';

const lexer = lineLexer('\\');

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
const node = (family: LineSyntax['family'], d: any[], extra: Partial<LineSyntax>): LineSyntax => ({
  family,
  keyword: strip(d[0] as Tok),
  flags: (d[1] as { flags: Tok[] }).flags,
  endFlags: (d[1] as { endFlags?: Tok }).endFlags,
  words: [],
  ...extra,
});
%}

@lexer lexer

# The driver trims the line first (BuildKit TrimSpace's it too), so no blanks at either end.
line -> instruction {% id %}

instruction ->
    %kwJson flags rest:?           {% (d) => node('kwJson', d, { rest: d[2] ?? undefined }) %}
  | %kwString flags rest:?         {% (d) => node('kwString', d, { rest: d[2] ?? undefined }) %}
  | %kwOther flags rest:?          {% (d) => node('kwOther', d, { rest: d[2] ?? undefined }) %}
  | %kwJsonList flags words:?      {% (d) => node('kwJsonList', d, { words: d[2] ?? [] }) %}
  | %kwSplit flags words:?         {% (d) => node('kwSplit', d, { words: d[2] ?? [] }) %}
  | %kwNameVal flags words:?       {% (d) => node('kwNameVal', d, { words: d[2] ?? [] }) %}
  | %kwArg flags words:?           {% (d) => node('kwArg', d, { words: d[2] ?? [] }) %}
  | %kwHealth flags health:?       {% (d) => node('kwHealth', d, { htype: d[2]?.htype, rest: d[2]?.rest }) %}
  | %kwOnbuild flags trigger:?     {% (d) => node('kwOnbuild', d, { trigger: d[2] ?? undefined }) %}

flags -> flag:* endFlags:?         {% (d) => ({ flags: d[0] as Tok[], endFlags: (d[1] ?? undefined) as Tok | undefined }) %}
flag -> %flag                      {% tok %}
endFlags -> %endFlags              {% tok %}

rest -> %rest                      {% tok %}
words -> word:+                    {% id %}
word -> %word                      {% tok %}
health -> %htype rest:?            {% (d) => ({ htype: strip(d[0] as Tok), rest: (d[1] ?? undefined) as Tok | undefined }) %}
trigger -> instruction             {% id %}


@include "_json.ne"
