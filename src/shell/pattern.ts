/**
 * Shell patterns (`*`, `?`, `\` escapes; no bracket expressions) for `${v#p}`, `${v%p}` and
 * `${v/p/r}`, matched with the semantics of Go's RE2 regexps that BuildKit uses (glob-match.ts).
 */
import { ok, err, type Result } from '../util/index.js';
import { GlobMatcher, PatternTooComplex, type Token } from './glob-match.js';

/** The pattern as matcher tokens; `\}` and `\/` only protect the ${} syntax, other escapes must be `\*`, `\?` or `\\`. */
function tokenize(pattern: string): Result<Token[], string> {
  const chars = Array.from(pattern);
  const out: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    let ch = chars[i]!;
    if (ch === '*') {
      out.push({ kind: 'star' });
      continue;
    }
    if (ch === '?') {
      out.push({ kind: 'any' });
      continue;
    }
    if (ch === '\\') {
      const next = chars[i + 1];
      if (next === '}' || next === '/') continue;
      i++;
      ch = chars[i] ?? '';
      if (ch !== '*' && ch !== '?' && ch !== '\\') return err(`invalid escape '\\${ch}'`);
    }
    out.push({ kind: 'literal', cp: ch.codePointAt(0)! });
  }
  return ok(out);
}

function compile(pattern: string, greedy: boolean, anchored: boolean): Result<GlobMatcher, string> {
  const t = tokenize(pattern);
  return t.ok ? ok(new GlobMatcher(t.value, greedy, anchored)) : t;
}

/** A pattern that would take more than MAX_STEPS on this value is an error, not a hang. */
function bounded(value: string, run: () => string): Result<string, string> {
  try {
    return ok(run());
  } catch (e) {
    if (e instanceof PatternTooComplex) return err(`too complex to match against a value of ${value.length} characters`);
    throw e;
  }
}

export function trimPrefix(pattern: string, value: string, greedy: boolean): Result<string, string> {
  const c = compile(pattern, greedy, true);
  if (!c.ok) return c;
  return bounded(value, () => {
    const m = c.value.exec(value, 0);
    return m ? value.slice(m.end) : value;
  });
}

/** Reverses a pattern by characters, keeping each `\x` escape pair in order (`a\*c` → `c\*a`). */
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = [];
  for (let i = 0; i < chars.length; ) {
    if (chars[i] === '\\' && i !== chars.length - 1) {
      out.unshift(chars[i]!, chars[i + 1]!);
      i += 2;
    } else {
      out.unshift(chars[i]!);
      i++;
    }
  }
  return out.join('');
}

const reverse = (s: string): string => Array.from(s).reverse().join('');

/** A regexp finds leftmost matches only, so the shortest suffix is found by reversing both sides. */
export function trimSuffix(pattern: string, value: string, greedy: boolean): Result<string, string> {
  const r = trimPrefix(reversePattern(pattern), reverse(value), greedy);
  return r.ok ? ok(reverse(r.value)) : r;
}

export function replacePattern(value: string, pattern: string, replacement: string, all: boolean): Result<string, string> {
  const c = compile(pattern, true, false);
  if (!c.ok) return c;
  const re = c.value;
  return bounded(value, () => {
    if (all) return goReplaceAll(re, value, replacement);
    const m = re.exec(value, 0);
    return m ? value.slice(0, m.index) + replacement + value.slice(m.end) : value;
  });
}

/**
 * Go's Regexp.ReplaceAllString: an empty match right after a previous match is not replaced, and
 * the replacement is a template (`$0`/`${0}` the match, `$$` a dollar, other names empty).
 */
function goReplaceAll(re: GlobMatcher, src: string, template: string): string {
  let out = '';
  let lastEnd = 0;
  let searchPos = 0;
  while (searchPos <= src.length) {
    const m = re.exec(src, searchPos);
    if (!m) break;
    const start = m.index;
    const end = m.end;
    out += src.slice(lastEnd, start);
    if (end > lastEnd || start === 0) out += expandTemplate(template, src.slice(start, end));
    lastEnd = end;
    const cp = src.codePointAt(searchPos);
    const width = cp === undefined ? 1 : cp > 0xffff ? 2 : 1;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + src.slice(lastEnd);
}

function expandTemplate(template: string, match: string): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let next = i + 1;
    if (template[i + 1] === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (close >= 0 && /^\w+$/.test(inner)) {
        name = inner;
        next = close + 1;
      }
    } else {
      const m = /^\w+/.exec(template.slice(i + 1));
      if (m) {
        name = m[0];
        next = i + 1 + name.length;
      }
    }
    if (name === undefined) {
      out += '$';
      continue;
    }
    if (/^\d+$/.test(name) && Number(name) === 0) out += match;
    i = next - 1;
  }
  return out;
}
