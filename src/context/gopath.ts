/**
 * Go's `path.Clean`, `filepath.Dir` and `filepath.Match` for slash-separated paths, reproduced
 * exactly because .dockerignore and COPY source patterns are defined by what Go does with them.
 */

/** Lexically cleans a slash path: collapses `//`, drops `.`, resolves `..`; "" becomes ".". */
export function goClean(path: string): string {
  if (path === '') return '.';
  const rooted = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** Go's filepath.Dir: everything before the last slash, cleaned ("." when there is no slash). */
export function goDir(path: string): string {
  const i = path.lastIndexOf('/');
  return goClean(path.slice(0, i + 1));
}

/** Returned by goMatch for a malformed pattern (Go's filepath.ErrBadPattern). */
export const BAD_PATTERN = Symbol('bad pattern');
type Bad = typeof BAD_PATTERN;

/**
 * Go's filepath.Match on unix: `*` (no `/`), `?` (one rune, not `/`), `[...]` with ranges and `^`
 * negation, `\` escapes. Like Go 1.16+, a malformed pattern is reported even when the name fails
 * to match early.
 */
export function goMatch(pattern: string, name: string): boolean | Bad {
  let p = Array.from(pattern);
  let n = Array.from(name);
  outer: while (p.length > 0) {
    const sc = scanChunk(p);
    p = sc.rest;
    if (sc.star && sc.chunk.length === 0) return !n.includes('/');
    const t = matchChunk(sc.chunk, n);
    if (t === BAD_PATTERN) return BAD_PATTERN;
    if (t !== null && (t.length === 0 || p.length > 0)) {
      n = t;
      continue;
    }
    if (sc.star) {
      for (let i = 0; i < n.length && n[i] !== '/'; i++) {
        const t2 = matchChunk(sc.chunk, n.slice(i + 1));
        if (t2 === BAD_PATTERN) return BAD_PATTERN;
        if (t2 !== null) {
          if (p.length === 0 && t2.length > 0) continue;
          n = t2;
          continue outer;
        }
      }
    }
    // Before answering "no match", make sure the rest of the pattern is well formed.
    while (p.length > 0) {
      const rest = scanChunk(p);
      p = rest.rest;
      if (matchChunk(rest.chunk, []) === BAD_PATTERN) return BAD_PATTERN;
    }
    return false;
  }
  return n.length === 0;
}

/**
 * True when the pattern contains an unescaped `*`, `?` or `[` (BuildKit's containsWildcards): COPY
 * sources without one name one path exactly, backslashes included.
 */
export function hasGlobMeta(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

function scanChunk(pattern: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let i = 0;
  while (i < pattern.length && pattern[i] === '*') i++;
  const star = i > 0;
  const p = pattern.slice(i);
  let inRange = false;
  let j = 0;
  for (; j < p.length; j++) {
    const c = p[j];
    if (c === '\\') {
      if (j + 1 < p.length) j++;
    } else if (c === '[') inRange = true;
    else if (c === ']') inRange = false;
    else if (c === '*' && !inRange) break;
  }
  return { star, chunk: p.slice(0, j), rest: p.slice(j) };
}

/** Matches one star-free chunk at the start of s; the rest of s, null for no match. */
function matchChunk(chunk: string[], s: string[]): string[] | null | Bad {
  let failed = false;
  let c = 0;
  let si = 0;
  while (c < chunk.length) {
    if (!failed && si >= s.length) failed = true;
    const ch = chunk[c];
    if (ch === '[') {
      const r = failed ? '' : s[si++]!;
      c++;
      let negated = false;
      if (c < chunk.length && chunk[c] === '^') {
        negated = true;
        c++;
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (c < chunk.length && chunk[c] === ']' && nrange > 0) {
          c++;
          break;
        }
        const lo = getEsc(chunk, c);
        if (lo === BAD_PATTERN) return BAD_PATTERN;
        c = lo.next;
        let hi = lo.r;
        if (chunk[c] === '-') {
          const h = getEsc(chunk, c + 1);
          if (h === BAD_PATTERN) return BAD_PATTERN;
          hi = h.r;
          c = h.next;
        }
        if (!failed) {
          const cp = r.codePointAt(0)!;
          if (lo.r.codePointAt(0)! <= cp && cp <= hi.codePointAt(0)!) match = true;
        }
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (ch === '?') {
      if (!failed) {
        if (s[si] === '/') failed = true;
        si++;
      }
      c++;
    } else {
      if (ch === '\\') {
        c++;
        if (c >= chunk.length) return BAD_PATTERN;
      }
      if (!failed) {
        if (chunk[c] !== s[si]) failed = true;
        si++;
      }
      c++;
    }
  }
  return failed ? null : s.slice(si);
}

function getEsc(chunk: string[], i: number): { r: string; next: number } | Bad {
  if (i >= chunk.length || chunk[i] === '-' || chunk[i] === ']') return BAD_PATTERN;
  if (chunk[i] === '\\') {
    i++;
    if (i >= chunk.length) return BAD_PATTERN;
  }
  const r = chunk[i]!;
  i++;
  if (i >= chunk.length) return BAD_PATTERN;
  return { r, next: i };
}
