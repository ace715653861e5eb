import { Sha256Stream, type Sha256, type Xxh64 } from '../hash/index.js';
import { diffXattrSummaries, type FileEntry } from '../util/index.js';
import type { ContextEntry, EntryType } from './walk.js';

/**
 * What a tree digest covers, one record per path: everything that shapes the copied files and
 * nothing that does not (never mtime, ctime or inode), so a touch or a fresh checkout changes
 * nothing. Cache records can keep these to explain a miss ("src/x.ts changed").
 */
export interface TreeRecord extends FileEntry<EntryType> {
  readonly linkTarget: string;
  /** xxh64 of the content for regular files, "" otherwise. */
  readonly fingerprint: string;
  /**
   * A regular file's carried extended attributes (user.*, security.capability; see xattrSummary),
   * absent when it has none — so records and digests of files without any are as they were.
   */
  readonly xattrs?: string;
}

/** The records of a set of entries, sorted by path, duplicates dropped. Every file needs a fingerprint. */
export function treeRecords(entries: readonly ContextEntry[], fingerprints: ReadonlyMap<string, Xxh64>, xattrs?: ReadonlyMap<string, string>): TreeRecord[] {
  // Walk order is usually path order already (it differs around names below '/', like "a.txt"
  // before "a/"): then there is nothing to drop or sort, which saves a map and a sort of 50,000.
  let unique: readonly ContextEntry[] = entries;
  if (!strictlyAscending(entries)) {
    const sorted = [...new Map(entries.map((e) => [e.path, e])).values()];
    sorted.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    unique = sorted;
  }
  return unique.map((e) => {
    let fingerprint = '';
    let x: string | undefined;
    if (e.type === 'file') {
      const f = fingerprints.get(e.path);
      if (f === undefined) throw new Error(`treeRecords: no fingerprint for ${e.path}`);
      fingerprint = f;
      x = xattrs?.get(e.path);
    }
    const r = { path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, linkTarget: e.linkTarget ?? '', fingerprint };
    return x ? { ...r, xattrs: x } : r;
  });
}

function strictlyAscending(entries: readonly ContextEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) if (!(entries[i - 1]!.path < entries[i]!.path)) return false;
  return true;
}

/** Strings JSON.stringify writes as they are, between quotes (no escapes, no lone surrogates). */
const PLAIN_JSON_STRING = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;
const jsonString = (s: string) => (PLAIN_JSON_STRING.test(s) ? `"${s}"` : JSON.stringify(s));

/** sha256 over the records, one JSON array per line under a versioned header. */
export function digestTreeRecords(records: readonly TreeRecord[]): Sha256 {
  const h = new Sha256Stream();
  // Lines are hashed in batches: one Buffer and one update per line was ~2 µs a record, most of a
  // no-op build of a 50,000-file context (the bytes hashed are the same either way).
  let batch = 'wharf-tree-v1\n';
  for (const r of records) {
    // The same line JSON.stringify makes of the array, without building the array.
    // Attributes as a ninth field only when there are any: other lines (and digests) stay as they were.
    batch += `[${jsonString(r.path)},"${r.type}",${r.mode},${r.uid},${r.gid},${r.size},${jsonString(r.linkTarget)},"${r.fingerprint}"${r.xattrs ? `,${jsonString(r.xattrs)}` : ''}]\n`;
    if (batch.length >= 64 * 1024) {
      h.update(Buffer.from(batch));
      batch = '';
    }
  }
  if (batch) h.update(Buffer.from(batch));
  return h.digest();
}

/** The digest of a set of context entries for cache keys (see TreeRecord). */
export function treeDigest(entries: readonly ContextEntry[], fingerprints: ReadonlyMap<string, Xxh64>, xattrs?: ReadonlyMap<string, string>): Sha256 {
  return digestTreeRecords(treeRecords(entries, fingerprints, xattrs));
}

export interface TreeChange {
  readonly path: string;
  readonly change: 'added' | 'removed' | 'content' | 'metadata';
  /** content/metadata: the fields that differ with both values, e.g. `mode 0644 → 0755`, `xattrs: user.note added`. */
  readonly detail?: string;
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/** The fields of `keys` that differ, with both values. */
function fieldChanges(o: TreeRecord, r: TreeRecord, keys: readonly ('size' | 'type' | 'linkTarget' | 'mode' | 'uid' | 'gid')[]): string | undefined {
  const out: string[] = [];
  for (const k of keys) {
    if (o[k] === r[k]) continue;
    out.push(k === 'mode' ? `mode ${octal(o.mode)} → ${octal(r.mode)}` : `${k} ${String(o[k])} → ${String(r[k])}`);
  }
  return out.length ? out.join(', ') : undefined;
}

/** What differs between two record lists (both sorted by path), for explaining cache misses. */
export function diffTreeRecords(before: readonly TreeRecord[], after: readonly TreeRecord[]): TreeChange[] {
  const old = new Map(before.map((r) => [r.path, r]));
  const out: TreeChange[] = [];
  for (const r of after) {
    const o = old.get(r.path);
    old.delete(r.path);
    if (!o) out.push({ path: r.path, change: 'added' });
    else if (o.fingerprint !== r.fingerprint || o.linkTarget !== r.linkTarget || o.type !== r.type || o.size !== r.size) {
      const detail = fieldChanges(o, r, ['type', 'size', 'linkTarget']);
      out.push({ path: r.path, change: 'content', ...(detail ? { detail } : {}) });
    } else if (o.mode !== r.mode || o.uid !== r.uid || o.gid !== r.gid || (o.xattrs ?? '') !== (r.xattrs ?? '')) {
      const xattrs = diffXattrSummaries(o.xattrs ?? '', r.xattrs ?? '');
      const detail = [fieldChanges(o, r, ['mode', 'uid', 'gid']), xattrs.length ? `xattrs: ${xattrs.join(', ')}` : undefined].filter(Boolean).join(', ');
      out.push({ path: r.path, change: 'metadata', detail });
    }
  }
  for (const path of old.keys()) out.push({ path, change: 'removed' });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
