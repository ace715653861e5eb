import { appendAll, ok, err, type Result } from '../util/index.js';
import { BAD_PATTERN, goClean, goMatch, hasGlobMeta } from './gopath.js';
import type { ContextEntry } from './walk.js';

/** A path a COPY/ADD source matched, and what it stands for. */
export interface SourceRoot {
  /** The context path the source matched (a symlink's own name when it was followed). */
  readonly path: string;
  /**
   * The entry copied for it: a symlink named by the source is followed inside the context, as
   * Docker does; undefined when the path is the context root.
   */
  readonly entry: ContextEntry | undefined;
}

/** What one COPY/ADD source selected from the context. */
export interface SourceSelection {
  /** The source as written. */
  readonly source: string;
  /** Matched paths in walk order; empty when nothing matched (the caller's error to report). */
  readonly roots: readonly SourceRoot[];
  /** Matched symlinks whose target is missing from the context (ignored or dangling). */
  readonly dangling: readonly string[];
  /**
   * Every entry the source brings in, for the tree digest: the matched symlinks themselves (so a
   * renamed link changes the digest), what they resolve to, and everything below directories.
   */
  readonly entries: readonly ContextEntry[];
}

export interface SourceError {
  readonly code: 'context.bad-source-pattern';
  readonly source: string;
  readonly message: string;
}

const indexes = new WeakMap<readonly ContextEntry[], ReadonlyMap<string, number>>();

/**
 * Path → position in an entry list, made once per list: every COPY of a build looks paths up in
 * the same walk, and a 50,000-entry map costs ~10 ms to build.
 */
export function entryIndex(entries: readonly ContextEntry[]): ReadonlyMap<string, number> {
  let index = indexes.get(entries);
  if (!index) {
    const made = new Map<string, number>();
    for (let i = 0; i < entries.length; i++) made.set(entries[i]!.path, i);
    indexes.set(entries, (index = made));
  }
  return index;
}

/** Symlink hops allowed while resolving one path (Linux's own limit is 40). */
const MAX_LINK_HOPS = 40;

/**
 * Resolves COPY sources against a walked context. Sources are cleaned relative to the root (so
 * `../x` stays inside); without glob characters a source names one path (symlinks along it are
 * followed, never leaving the context: an absolute target starts at the context root), otherwise
 * each path is tested with Go's filepath.Match component by component (no `**` in COPY).
 * `entries` must be in walk order.
 */
export function selectSources(entries: readonly ContextEntry[], sources: readonly string[]): Result<SourceSelection[], SourceError> {
  const subtree = (i: number): ContextEntry[] => {
    const root = entries[i]!;
    const out = [root];
    if (root.type !== 'dir') return out;
    // Walk order is depth-first, so a directory's contents follow it contiguously.
    const prefix = root.path + '/';
    for (let j = i + 1; j < entries.length && entries[j]!.path.startsWith(prefix); j++) out.push(entries[j]!);
    return out;
  };
  const out: SourceSelection[] = [];
  for (const source of sources) {
    const cleaned = goClean('/' + source).slice(1) || '.';
    let matched: string[];
    if (!hasGlobMeta(cleaned)) matched = [cleaned];
    else {
      if (goMatch(cleaned, '') === BAD_PATTERN) {
        return err({ code: 'context.bad-source-pattern', source, message: `invalid source pattern ${JSON.stringify(source)} (syntax error in pattern)` });
      }
      const depth = cleaned.split('/').length;
      matched = entries.filter((e) => e.path.split('/').length === depth && goMatch(cleaned, e.path) === true).map((e) => e.path);
    }
    const roots: SourceRoot[] = [];
    const dangling: string[] = [];
    const selected: ContextEntry[] = [];
    for (const path of matched) {
      // The context root needs no lookup (nor the index, for `COPY . /dst`).
      const own = path === '.' ? undefined : entryIndex(entries).get(path);
      if (own !== undefined && entries[own]!.type === 'symlink') selected.push(entries[own]!);
      const resolved = resolveInContext(entries, path);
      if (resolved === undefined) {
        if (own !== undefined) dangling.push(path);
        continue;
      }
      if (resolved === '.') {
        roots.push({ path, entry: undefined });
        appendAll(selected, entries);
        continue;
      }
      const i = entryIndex(entries).get(resolved)!;
      roots.push({ path, entry: entries[i]! });
      appendAll(selected, subtree(i));
    }
    out.push({ source, roots, dangling, entries: selected });
  }
  return ok(out);
}

/**
 * Follows symlinks along a context path without leaving the context: `..` stops at the root and an
 * absolute target starts from it. Returns the resolved path ("." for the root), or undefined when
 * a component is missing from the walk (absent, ignored) or the links loop.
 */
export function resolveInContext(entries: readonly ContextEntry[], path: string): string | undefined {
  let todo = path.split('/');
  const cur: string[] = [];
  let hops = 0;
  while (todo.length > 0) {
    const name = todo.shift()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      cur.pop();
      continue;
    }
    const i = entryIndex(entries).get([...cur, name].join('/'));
    if (i === undefined) return undefined;
    const e = entries[i]!;
    if (e.type === 'symlink') {
      if (++hops > MAX_LINK_HOPS) return undefined;
      const target = e.linkTarget ?? '';
      if (target.startsWith('/')) cur.length = 0;
      todo = [...target.split('/'), ...todo];
      continue;
    }
    cur.push(name);
  }
  return cur.length === 0 ? '.' : cur.join('/');
}
