import { ok, err, type Result } from '../util/index.js';
import { BAD_PATTERN, goClean, goDir, goMatch } from './gopath.js';

/**
 * The .dockerignore matcher, following moby/patternmatcher: each pattern is Go filepath.Match
 * syntax plus `**`, compiled to an exact / prefix / suffix test or a regular expression; a later
 * `!pattern` re-includes what an earlier one excluded.
 */

export type MatchType = 'exactMatch' | 'prefixMatch' | 'suffixMatch' | 'regexpMatch';

export interface PatternError {
  readonly code: 'context.bad-pattern' | 'context.illegal-exclusion';
  /** The pattern as given. */
  readonly pattern: string;
  /** Its position in the list handed to PatternMatcher.create. */
  readonly index: number;
  readonly message: string;
}

export class Pattern {
  readonly matchType: MatchType;
  /** The Go regexp source moby builds (kept to check against its compile tests). */
  readonly goRegexp: string;
  readonly dirs: readonly string[];
  private readonly re: RegExp | undefined;

  private constructor(
    /** Cleaned, without its leading `!`. */
    readonly cleaned: string,
    readonly exclusion: boolean,
    compiled: { matchType: MatchType; goRegexp: string; re: RegExp | undefined },
  ) {
    this.matchType = compiled.matchType;
    this.goRegexp = compiled.goRegexp;
    this.re = compiled.re;
    this.dirs = cleaned.split('/');
  }

  /** Compiles an already cleaned pattern; undefined when the regexp cannot be built. */
  static compile(cleaned: string, exclusion: boolean): Pattern | undefined {
    const c = compilePattern(cleaned);
    return c && new Pattern(cleaned, exclusion, c);
  }

  /** The pattern text as moby's Pattern.String() gives it (cleaned, no `!`). */
  toString(): string {
    return this.cleaned;
  }

  match(path: string): boolean {
    switch (this.matchType) {
      case 'exactMatch':
        return path === this.cleaned;
      case 'prefixMatch':
        return path.startsWith(this.cleaned.slice(0, -2));
      case 'suffixMatch': {
        const suffix = this.cleaned.slice(2);
        if (path.endsWith(suffix)) return true;
        // `**/foo` also matches "foo" itself.
        return suffix.startsWith('/') && path === suffix.slice(1);
      }
      case 'regexpMatch':
        return this.re!.test(path);
    }
  }
}

/** Per-pattern results for a directory, handed down to its children (MatchesUsingParentResults). */
export type MatchInfo = readonly boolean[];

export class PatternMatcher {
  private constructor(
    readonly patterns: readonly Pattern[],
    /** True when any pattern starts with `!`. */
    readonly exclusions: boolean,
  ) {}

  /** Trims, cleans and validates every pattern (empty ones are dropped), as patternmatcher.New. */
  static create(patterns: readonly string[]): Result<PatternMatcher, PatternError> {
    const out: Pattern[] = [];
    let exclusions = false;
    for (const [index, raw] of patterns.entries()) {
      let p = raw.trim();
      if (p === '') continue;
      p = goClean(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) {
          return err({ code: 'context.illegal-exclusion', pattern: raw, index, message: 'illegal exclusion pattern: "!"' });
        }
        exclusion = true;
        exclusions = true;
        p = p.slice(1);
      }
      const bad = (): Result<never, PatternError> =>
        err({ code: 'context.bad-pattern', pattern: raw, index, message: `syntax error in pattern ${JSON.stringify(raw)}` });
      if (goMatch(p, '.') === BAD_PATTERN) return bad();
      const compiled = Pattern.compile(p, exclusion);
      if (!compiled) return bad();
      out.push(compiled);
    }
    return ok(new PatternMatcher(out, exclusions));
  }

  /** True if the path or one of its parent directories matches (the rule .dockerignore uses). */
  matchesOrParentMatches(file: string): boolean {
    const parentPath = goDir(file);
    const parentDirs = parentPath.split('/');
    let matched = false;
    for (const pattern of this.patterns) {
      // An inclusion after a match, or an exclusion before one, cannot change the answer.
      if (pattern.exclusion !== matched) continue;
      let match = pattern.match(file);
      if (!match && parentPath !== '.') {
        for (let i = 0; i < parentDirs.length && !match; i++) match = pattern.match(parentDirs.slice(0, i + 1).join('/'));
      }
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * moby's deprecated PatternMatcher.Matches: besides the path itself, only the parent prefix with
   * as many components as the pattern is tried.
   */
  matchesParentPrefix(file: string): boolean {
    const parentPath = goDir(file);
    const parentDirs = parentPath.split('/');
    let matched = false;
    for (const pattern of this.patterns) {
      if (pattern.exclusion !== matched) continue;
      let match = pattern.match(file);
      if (!match && parentPath !== '.' && pattern.dirs.length <= parentDirs.length) {
        match = pattern.match(parentDirs.slice(0, pattern.dirs.length).join('/'));
      }
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * Matching during a walk: the parent directory's per-pattern results stand in for checking every
   * parent again. An empty `parent` (top level) falls back to checking parents by path.
   */
  matchesUsingParentResults(file: string, parent: MatchInfo): { matched: boolean; info: MatchInfo } {
    const info: boolean[] = new Array<boolean>(this.patterns.length).fill(false);
    let matched = false;
    for (const [i, pattern] of this.patterns.entries()) {
      let match = parent.length !== 0 ? parent[i]! : false;
      if (!match) {
        if (pattern.exclusion !== matched) continue;
        match = pattern.match(file);
        if (!match && parent.length === 0) {
          const parentPath = goDir(file);
          if (parentPath !== '.') {
            const dirs = parentPath.split('/');
            for (let j = 0; j < dirs.length && !match; j++) match = pattern.match(dirs.slice(0, j + 1).join('/'));
          }
        }
      }
      info[i] = match;
      if (match) matched = !pattern.exclusion;
    }
    return { matched, info };
  }
}

/** moby's package-level `Matches(file, patterns)`: the root itself is never matched. */
export function matchesPatterns(file: string, patterns: readonly string[]): Result<boolean, PatternError> {
  const pm = PatternMatcher.create(patterns);
  if (!pm.ok) return pm;
  const cleaned = goClean(file);
  if (cleaned === '.') return ok(false);
  return ok(pm.value.matchesParentPrefix(cleaned));
}

const ESCAPED = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/**
 * moby's Pattern.compile for `/` separators. Builds the Go regexp text (compared against moby's
 * own compile tests) and, beside it, an equivalent JavaScript RegExp.
 */
function compilePattern(pattern: string): { matchType: MatchType; goRegexp: string; re: RegExp | undefined } | undefined {
  const chars = Array.from(pattern);
  let go = '^';
  let js = '^';
  let matchType: MatchType = 'exactMatch';
  let inClass = false;
  for (let k = 0, i = 0; k < chars.length; i++) {
    const ch = chars[k++]!;
    if (ch === '*') {
      if (chars[k] === '*') {
        k++;
        // `**/` is the same as `**`.
        if (chars[k] === '/') k++;
        if (k >= chars.length) {
          if (matchType === 'exactMatch') matchType = 'prefixMatch';
          else {
            go += '.*';
            js += '.*';
            matchType = 'regexpMatch';
          }
        } else {
          go += '(.*/)?';
          js += '(.*/)?';
          matchType = 'regexpMatch';
        }
        if (i === 0) matchType = 'suffixMatch';
      } else {
        go += '[^/]*';
        js += '[^/]*';
        matchType = 'regexpMatch';
      }
    } else if (ch === '?') {
      go += '[^/]';
      js += '[^/]';
      matchType = 'regexpMatch';
    } else if (ESCAPED.has(ch)) {
      go += '\\' + ch;
      js += '\\' + ch;
    } else if (ch === '\\') {
      if (k < chars.length) {
        const next = chars[k++]!;
        go += '\\' + next;
        // Go's filepath.Match reads `\x` as a literal x; a code point escape says so in any position.
        js += `\\u{${next.codePointAt(0)!.toString(16)}}`;
        matchType = 'regexpMatch';
      } else {
        go += '\\';
        js += '\\\\';
      }
    } else if (ch === '[' || ch === ']') {
      go += ch;
      // Go's regexp accepts a stray `]` as a literal; JavaScript's unicode mode does not.
      if (ch === ']' && !inClass) js += '\\]';
      else js += ch;
      inClass = ch === '[' ? true : false;
      matchType = 'regexpMatch';
    } else {
      go += ch;
      js += ch;
    }
  }
  if (matchType !== 'regexpMatch') return { matchType, goRegexp: '', re: undefined };
  go += '$';
  js += '$';
  try {
    return { matchType, goRegexp: go, re: new RegExp(js, 'u') };
  } catch {
    return undefined;
  }
}
