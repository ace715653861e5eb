/**
 * Shell patterns (`*`, `?`, `\` escapes; no bracket expressions) for `${v#p}`, `${v%p}` and
 * `${v/p/r}`, matched with the semantics of Go's RE2 regexps that BuildKit uses.
 */
import { ok, err, type Result } from '../util/result.js';

const REGEX_SPECIAL = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$']);

function toRegex(pattern: string, greedy: boolean, anchored: boolean): Result<RegExp, string> {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    let ch = chars[i]!;
    if (ch === '*') {
      out += greedy ? '[^\\n]*' : '[^\\n]*?';
      continue;
    }
    if (ch === '?') {
      // Go's `.` matches anything but a newline (JS's also excludes \r and U+2028/9).
      out += '[^\\n]';
      continue;
    }
    if (ch === '\\') {
      // `\}` and `\/` only protect the ${} syntax; the escape is not part of the pattern.
      const next = chars[i + 1];
      if (next === '}' || next === '/') continue;
      i++;
      ch = chars[i] ?? '';
      if (ch !== '*' && ch !== '?' && ch !== '\\') return err(`invalid escape '\\${ch}'`);
      out += '\\' + ch;
      continue;
    }
    out += REGEX_SPECIAL.has(ch) ? '\\' + ch : ch;
  }
  try {
    return ok(new RegExp(out, 'gu'));
  } catch (e) {
    return err(e instanceof Error ? e.message : String(e));
  }
}

export function trimPrefix(pattern: string, value: string, greedy: boolean): Result<string, string> {
  const re = toRegex(pattern, greedy, true);
  if (!re.ok) return re;
  re.value.lastIndex = 0;
  const m = re.value.exec(value);
  return ok(m ? value.slice(m.index + m[0].length) : value);
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
  const compiled = toRegex(pattern, true, false);
  if (!compiled.ok) return compiled;
  const re = compiled.value;
  if (!all) {
    re.lastIndex = 0;
    const m = re.exec(value);
    return ok(m ? value.slice(0, m.index) + replacement + value.slice(m.index + m[0].length) : value);
  }
  return ok(goReplaceAll(re, value, replacement));
}

/**
 * Go's Regexp.ReplaceAllString: an empty match right after a previous match is not replaced, and
 * the replacement is a template (`$0`/`${0}` the match, `$$` a dollar, other names empty).
 */
function goReplaceAll(re: RegExp, src: string, template: string): string {
  let out = '';
  let lastEnd = 0;
  let searchPos = 0;
  while (searchPos <= src.length) {
    re.lastIndex = searchPos;
    const m = re.exec(src);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    out += src.slice(lastEnd, start);
    if (end > lastEnd || start === 0) out += expandTemplate(template, m[0]);
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
