/**
 * Go's strconv.Quote, which BuildKit's AST dump and several of its error messages use: `\"`, `\\`,
 * the C escapes, `\xNN` for other control bytes, `\uXXXX` / `\UXXXXXXXX` for non-printable runes,
 * printable Unicode as is (Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and
 * the ASCII space).
 */
// Made on first use: a Unicode property class costs ~0.5 ms to build (ICU), and only non-ASCII text
// is ever tested against it. Made from a string, not a literal: V8 checks a regular expression
// literal when it compiles the function around it, which built the class at goQuote's first call
// (0.35-0.7 ms of a build that ends in a CMD: bench/README.md, "Speed, twelfth round").
let printable: RegExp | undefined;
const SIMPLE: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\' };

export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const simple = SIMPLE[ch];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      out += cp < 0x20 || cp === 0x7f ? '\\x' + cp.toString(16).padStart(2, '0') : ch;
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      out += '\uFFFD'; // a lone surrogate cannot come from valid UTF-8; Go would see U+FFFD
    } else if ((printable ??= new RegExp('^[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S} ]$', 'u')).test(ch)) {
      out += ch;
    } else {
      out += cp < 0x10000 ? '\\u' + cp.toString(16).padStart(4, '0') : '\\U' + cp.toString(16).padStart(8, '0');
    }
  }
  return out + '"';
}

/** Go's `%q` of a []string: `["a" "b"]`. */
export function goQuoteList(items: readonly string[]): string {
  return '[' + items.map(goQuote).join(' ') + ']';
}
