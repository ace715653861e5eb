# A JSON document that must be an array (BuildKit's exec form). Values of every JSON type are
# accepted so that `["a", 1]` or `["a", ["b"]]` parse and can be reported as "not a string array"
# instead of silently falling back to shell form. Tokens come from `jsonLexer`.

@{%
// nearleyc resolves %tokens of @include'd files as plain identifiers, so name them here.
const jLbrack = { test: (t: { type?: string }) => t.type === 'jLbrack' };
const jRbrack = { test: (t: { type?: string }) => t.type === 'jRbrack' };
const jLbrace = { test: (t: { type?: string }) => t.type === 'jLbrace' };
const jRbrace = { test: (t: { type?: string }) => t.type === 'jRbrace' };
const jComma = { test: (t: { type?: string }) => t.type === 'jComma' };
const jColon = { test: (t: { type?: string }) => t.type === 'jColon' };
const jString = { test: (t: { type?: string }) => t.type === 'jString' };
const jNumber = { test: (t: { type?: string }) => t.type === 'jNumber' };
const jLiteral = { test: (t: { type?: string }) => t.type === 'jLiteral' };
%}

# Tokens carry the JSON blanks before them (see jsonLexer), so no rule mentions blanks; the text
# fed here is trimmed.
jsonDoc -> jsonArray               {% id %}

jsonArray -> %jLbrack %jRbrack     {% () => [] %}
  | %jLbrack jsonValue (%jComma jsonValue {% (d) => d[1] %}):* %jRbrack
                                   {% (d) => [d[1], ...(d[2] as JsonValue[])] as JsonValue[] %}

jsonValue -> %jString              {% (d) => ({ kind: 'string', token: d[0] as Tok }) as JsonValue %}
  | %jNumber                       {% () => ({ kind: 'other' }) as JsonValue %}
  | %jLiteral                      {% () => ({ kind: 'other' }) as JsonValue %}
  | jsonArray                      {% () => ({ kind: 'other' }) as JsonValue %}
  | jsonObject                     {% () => ({ kind: 'other' }) as JsonValue %}

jsonObject -> %jLbrace %jRbrace
  | %jLbrace jsonMember (%jComma jsonMember):* %jRbrace
jsonMember -> %jString %jColon jsonValue
