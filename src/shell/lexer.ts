import { ok, err, type Result } from '../util/index.js';
import type { Expansion, ShellEnv, ShellError } from './types.js';
import { replacePattern, trimPrefix, trimSuffix } from './pattern.js';

/** Thrown inside the scanner only and turned into a value at its boundary. */
class ExpansionFailure extends Error {
  constructor(readonly shellError: ShellError) {
    super(shellError.message);
  }
}

const fail = (code: ShellError['code'], message: string): never => {
  throw new ExpansionFailure({ code, message });
};

// Go's unicode.IsSpace: ASCII whitespace, U+0085, U+00A0 and the Unicode Z-space separators.
const SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u;
const isSpace = (ch: string): boolean => SPACE.test(ch);
// ASCII without a regular expression, and the Unicode classes made from strings at their first use:
// V8 builds a property class when it compiles a literal's function (~0.4 ms each), and names are
// nearly always ASCII.
let letter: RegExp | undefined;
let digit: RegExp | undefined;
const isLetter = (ch: string): boolean =>
  ch < '\x80' ? (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') : (letter ??= new RegExp('^\\p{L}$', 'u')).test(ch);
const isDigit = (ch: string): boolean =>
  ch < '\x80' ? ch >= '0' && ch <= '9' : (digit ??= new RegExp('^\\p{Nd}$', 'u')).test(ch);
const isNameChar = (ch: string): boolean => ch === '_' || isLetter(ch) || isDigit(ch);
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

/** Accumulates fields the way BuildKit does: unquoted spaces end a field, quoted text never does. */
class Fields {
  word = '';
  words: string[] = [];
  inWord = false;

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else this.addRaw(ch);
  }
  addRaw(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

const EOF = '';

/**
 * How deep `${a:-${b:-…}}` may nest. The scanner recurses once per level, and a few thousand
 * levels overflowed the stack; real Dockerfiles nest two or three.
 */
export const MAX_NESTING = 100;

class Scanner {
  private readonly chars: string[];
  private pos = 0;
  private depth = 0;
  readonly used = new Set<string>();
  readonly unset = new Set<string>();
  readonly unsetBare = new Set<string>();

  constructor(
    text: string,
    private readonly env: ShellEnv,
    private readonly escape: string,
    private rawEscapes: boolean,
    private readonly skipQuotes: boolean,
  ) {
    this.chars = Array.from(text);
  }

  peek(): string {
    return this.chars[this.pos] ?? EOF;
  }
  next(): string {
    const ch = this.chars[this.pos] ?? EOF;
    if (ch !== EOF) this.pos++;
    return ch;
  }

  getEnv(name: string): { value: string; set: boolean } {
    const value = this.env.get(name);
    if (value === undefined) {
      this.unset.add(name);
      return { value: '', set: false };
    }
    this.used.add(name);
    return { value, set: true };
  }

  /** Reads up to `stop` (consumed) or the end; a missing `stop` is an error. */
  processStopOn(stop: string, rawEscapes: boolean): { value: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const fields = new Fields();
      while (this.peek() !== EOF) {
        let ch = this.peek();
        if (stop !== EOF && ch === stop) {
          this.next();
          return { value: result, words: fields.finish() };
        }
        if (ch === '$') {
          const v = this.processDollar();
          result += v;
          fields.addString(v);
        } else if (ch === "'" && !this.skipQuotes) {
          const v = this.processSingleQuote();
          result += v;
          fields.addRaw(v);
        } else if (ch === '"' && !this.skipQuotes) {
          const v = this.processDoubleQuote();
          result += v;
          fields.addRaw(v);
        } else {
          ch = this.next();
          if (ch === this.escape) {
            if (this.rawEscapes) {
              fields.addRaw(ch);
              result += ch;
            }
            ch = this.next();
            if (ch === EOF) break;
            fields.addRaw(ch);
          } else fields.addChar(ch);
          result += ch;
        }
      }
      if (stop !== EOF) fail('shell.syntax', `unexpected end of statement while looking for matching ${stop}`);
      return { value: result, words: fields.finish() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    this.next();
    let result = '';
    for (;;) {
      const ch = this.next();
      if (ch === EOF) fail('shell.syntax', 'unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return result;
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    this.next();
    let result = '';
    for (;;) {
      const p = this.peek();
      if (p === EOF) fail('shell.syntax', 'unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.next();
        return result;
      }
      if (p === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === this.escape) {
        if (this.rawEscapes) result += ch;
        const q = this.peek();
        // Only `"`, `$` and the escape itself are escapable inside double quotes; a trailing
        // escape is dropped.
        if (q === EOF) continue;
        if (q === '"' || q === '$' || q === this.escape) ch = this.next();
      }
      result += ch;
    }
  }

  private bare(name: string): string {
    const { value, set } = this.getEnv(name);
    if (!set) this.unsetBare.add(name);
    return value;
  }

  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name.length === 0 && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek())) name += this.next();
        return name;
      }
      if (name.length === 0 && SPECIAL_PARAMS.has(ch)) return this.next();
      if (!isNameChar(ch)) break;
      name += this.next();
    }
    return name;
  }

  private processDollar(): string {
    if (++this.depth > MAX_NESTING) fail('shell.too-deep', `substitutions nested more than ${MAX_NESTING} levels deep`);
    try {
      return this.processDollarBody();
    } finally {
      this.depth--;
    }
  }

  private processDollarBody(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      return this.bare(name);
    }
    this.next();
    const first = this.peek();
    if (first === EOF) fail('shell.syntax', "syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') fail('shell.syntax', 'syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let modifier = ch;
    let nullIsUnset = false;
    switch (ch) {
      case '}':
        return this.bare(name);
      case ':':
      case '+':
      case '-':
      case '?':
      case '#':
      case '%': {
        if (ch === ':') {
          nullIsUnset = true;
          ch = this.next();
          modifier += ch;
          // `${v:#p}` and `${v:%p}` are not shell syntax.
          if (ch === '#' || ch === '%') fail('shell.syntax', `unsupported modifier (${modifier}) in substitution`);
        }
        const rawEscapes = ch === '#' || ch === '%';
        const word = this.stopOrMissing('}', rawEscapes, "syntax error: missing '}'");
        const { value, set } = this.getEnv(name);
        const empty = !set || (nullIsUnset && value === '');
        switch (ch) {
          case '-':
            return empty ? word : value;
          case '+':
            return empty ? '' : word;
          case '?':
            if (!set) fail('shell.required', `${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
            if (nullIsUnset && value === '') fail('shell.required', `${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
            return value;
          case '%':
          case '#': {
            // `%`/`#` remove the shortest match, `%%`/`##` the longest.
            const greedy = word.startsWith(ch);
            const pattern = greedy ? word.slice(1) : word;
            const r = ch === '%' ? trimSuffix(pattern, value, greedy) : trimPrefix(pattern, value, greedy);
            return r.ok ? r.value : fail('shell.pattern', `invalid pattern (${pattern}) in substitution: ${r.error}`);
          }
          default:
            return fail('shell.syntax', `unsupported modifier (${modifier}) in substitution`);
        }
      }
      case '/': {
        const all = this.peek() === '/';
        if (all) this.next();
        const pattern = this.stopOrMissing('/', true, "syntax error: missing '/' in ${}");
        const replacement = this.stopOrMissing('}', true, "syntax error: missing '}'");
        const { value } = this.getEnv(name);
        const r = replacePattern(value, pattern, replacement, all);
        return r.ok ? r.value : fail('shell.pattern', `invalid pattern (${pattern}) in substitution: ${r.error}`);
      }
      default:
        return fail('shell.syntax', `unsupported modifier (${modifier}) in substitution`);
    }
  }

  private stopOrMissing(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.processStopOn(stop, rawEscapes).value;
    } catch (e) {
      if (e instanceof ExpansionFailure && this.peek() === EOF) fail('shell.syntax', missing);
      throw e;
    }
  }
}

const PLAIN_WORD = /^[^$'"\\`]*$/;
const FIELD_SEPARATORS = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;
const NO_NAMES: ReadonlySet<string> = new Set();

export function processWord(word: string, env: ShellEnv, escape: string, rawEscapes: boolean, skipQuotes: boolean): Result<Expansion, ShellError> {
  // Most words hold nothing to expand, quote or escape: skip the scanner for them.
  if (PLAIN_WORD.test(word)) {
    return ok({ value: word, words: word.split(FIELD_SEPARATORS).filter((w) => w !== ''), used: NO_NAMES, unset: NO_NAMES, unsetBare: NO_NAMES });
  }
  const sc = new Scanner(word, env, escape, rawEscapes, skipQuotes);
  try {
    const { value, words } = sc.processStopOn(EOF, rawEscapes);
    return ok({ value, words, used: sc.used, unset: sc.unset, unsetBare: sc.unsetBare });
  } catch (e) {
    if (e instanceof ExpansionFailure) return err(e.shellError);
    throw e;
  }
}
