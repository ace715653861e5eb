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

const tok = (d: any[]): Tok => d[0] as Tok;
const second = (d: any[]): Tok => d[1] as Tok;
const node = (family: LineSyntax['family'], d: any[], extra: Partial<LineSyntax>): LineSyntax => ({
  family,
  keyword: d[0] as Tok,
  flags: (d[1] as { flags: Tok[] }).flags,
  endFlags: (d[1] as { endFlags?: Tok }).endFlags,
  words: [],
  ...extra,
});
%}

@lexer lexer

line -> _ instruction _ {% (d) => d[1] as LineSyntax %}

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
flag -> %ws %flag                  {% second %}
endFlags -> %ws %endFlags          {% second %}

rest -> %ws %rest                  {% second %}
words -> word:+                    {% id %}
word -> %ws %word                  {% second %}
health -> %ws %htype rest:?        {% (d) => ({ htype: d[1] as Tok, rest: (d[2] ?? undefined) as Tok | undefined }) %}
trigger -> %ws instruction         {% (d) => d[1] as LineSyntax %}

_ -> %ws:?                         {% () => null %}

@include "_json.ne"
