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
const jWs = { test: (t: { type?: string }) => t.type === 'jWs' };
%}

jsonDoc -> jws jsonArray jws       {% (d) => d[1] as JsonValue[] %}

jsonArray -> %jLbrack jws %jRbrack   {% () => [] %}
  | %jLbrack jws jsonValue (jws %jComma jws jsonValue {% (d) => d[3] %}):* jws %jRbrack
                                   {% (d) => [d[2], ...(d[3] as JsonValue[])] as JsonValue[] %}

jsonValue -> %jString               {% (d) => ({ kind: 'string', token: tok(d) }) as JsonValue %}
  | %jNumber                        {% () => ({ kind: 'other' }) as JsonValue %}
  | %jLiteral                       {% () => ({ kind: 'other' }) as JsonValue %}
  | jsonArray                      {% () => ({ kind: 'other' }) as JsonValue %}
  | jsonObject                     {% () => ({ kind: 'other' }) as JsonValue %}

jsonObject -> %jLbrace jws %jRbrace
  | %jLbrace jws jsonMember (jws %jComma jws jsonMember):* jws %jRbrace
jsonMember -> %jString jws %jColon jws jsonValue

jws -> %jWs:?                      {% () => null %}
