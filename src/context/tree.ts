import { ok, err, type Result } from '../util/index.js';
import { Sha256Stream, type Sha256, type Xxh64 } from '../hash/index.js';
import { BAD_PATTERN, goClean, goMatch, hasGlobMeta } from './gopath.js';
import type { ContextEntry } from './walk.js';

/** What one COPY/ADD source selected from the context. */
export interface SourceSelection {
  /** The source as written. */
  readonly source: string;
  /** The matched paths themselves (a directory stands for its contents; "." for the root). */
  readonly roots: readonly ContextEntry[];
  /** True when the source named the context root (`.`, `/`, `..`). */
  readonly wholeContext: boolean;
  /** Every entry the source brings in: roots and everything below them, in walk order. */
  readonly entries: readonly ContextEntry[];
}

export interface SourceError {
  readonly code: 'context.bad-source-pattern';
  readonly source: string;
  readonly message: string;
}

/**
 * Resolves COPY sources against a walked context. Sources are cleaned relative to the root (so
 * `../x` stays inside); without glob characters a source names one path, otherwise each path is
 * tested with Go's filepath.Match (no `**` in COPY). Nothing matched leaves `roots` empty; which
 * error that is belongs to the caller. `entries` must be in walk order.
 */
export function selectSources(entries: readonly ContextEntry[], sources: readonly string[]): Result<SourceSelection[], SourceError> {
  const index = new Map<string, number>();
  entries.forEach((e, i) => index.set(e.path, i));
  const out: SourceSelection[] = [];
  for (const source of sources) {
    const cleaned = goClean('/' + source).slice(1) || '.';
    if (cleaned === '.') {
      out.push({ source, roots: [], wholeContext: true, entries });
      continue;
    }
    let rootIdx: number[];
    if (!hasGlobMeta(cleaned)) {
      const i = index.get(cleaned);
      rootIdx = i === undefined ? [] : [i];
    } else {
      if (goMatch(cleaned, '') === BAD_PATTERN) {
        return err({ code: 'context.bad-source-pattern', source, message: `invalid source pattern ${JSON.stringify(source)} (syntax error in pattern)` });
      }
      const depth = cleaned.split('/').length;
      rootIdx = [];
      entries.forEach((e, i) => {
        if (e.path.split('/').length === depth && goMatch(cleaned, e.path) === true) rootIdx.push(i);
      });
    }
    const selected: ContextEntry[] = [];
    for (const i of rootIdx) {
      const root = entries[i]!;
      selected.push(root);
      if (root.type !== 'dir') continue;
      // Walk order is depth-first, so a directory's contents follow it contiguously.
      const prefix = root.path + '/';
      for (let j = i + 1; j < entries.length && entries[j]!.path.startsWith(prefix); j++) selected.push(entries[j]!);
    }
    out.push({ source, roots: rootIdx.map((i) => entries[i]!), wholeContext: false, entries: selected });
  }
  return ok(out);
}

/**
 * The digest of a set of context entries for cache keys: path, type, mode, uid, gid, size, link
 * target and content fingerprint of each, sorted by path. Never mtime, so a touch changes nothing.
 * Every regular file must have a fingerprint.
 */
export function treeDigest(entries: readonly ContextEntry[], fingerprints: ReadonlyMap<string, Xxh64>): Sha256 {
  const sorted = [...new Map(entries.map((e) => [e.path, e])).values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const h = new Sha256Stream();
  h.update(Buffer.from('wharf-tree-v1\n'));
  for (const e of sorted) {
    let fp = '';
    if (e.type === 'file') {
      const f = fingerprints.get(e.path);
      if (f === undefined) throw new Error(`treeDigest: no fingerprint for ${e.path}`);
      fp = f;
    }
    const line = JSON.stringify([e.path, e.type, e.mode, e.uid, e.gid, e.size, e.linkTarget ?? '', fp]);
    h.update(Buffer.from(line + '\n'));
  }
  return h.digest();
}
