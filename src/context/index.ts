/**
 * The build context: which files a build sees (.dockerignore), what they contain (xxh64
 * fingerprints behind a persistent stat cache) and the digest of what a COPY selects.
 *
 *   const ctx = await openContext({ contextDir, dockerfile, storeRoot, hasher });
 *   if (!ctx.ok) report(ctx.error);
 *   const sel = selectSources(ctx.value.entries, ['src/*.ts']);
 *   const digest = await ctx.value.treeDigest(sel.value[0].entries);
 *   await ctx.value.close();   // saves the stat cache
 */
import { ok, type Result } from '../util/index.js';
import type { Sha256, Xxh64, Xxh64Hasher } from '../hash/index.js';
import { Fingerprinter, type FingerprintCounters } from './fingerprint.js';
import { loadIgnoreFile, type IgnoreFileError } from './ignorefile.js';
import { StatCache } from './statcache.js';
import { treeRecords, digestTreeRecords, type TreeRecord } from './treedigest.js';
import { walkContext, type ContextEntry } from './walk.js';

export { walkContext, type ContextEntry } from './walk.js';
export { StatCache } from './statcache.js';
export { PatternMatcher } from './patternmatcher.js';
export { BAD_PATTERN, goClean, goMatch, hasGlobMeta } from './gopath.js';
export { entryIndex, selectSources } from './tree.js';
export { diffTreeRecords, digestTreeRecords, type TreeRecord } from './treedigest.js';

export interface OpenContextOptions {
  readonly contextDir: string;
  /** Path of the Dockerfile (relative to contextDir or absolute): picks `<Dockerfile>.dockerignore`. */
  readonly dockerfile: string;
  /** Store root for the persistent stat cache; without it the cache lives in memory only. */
  readonly storeRoot?: string;
  /**
   * For a context unpacked from a tar stream: the name its stat cache is kept under across builds
   * (see StatCache.openStreamed); without it (or storeRoot) a streamed context's cache is memory only.
   */
  readonly streamKey?: string;
  /** The hasher, or a loader called on the first file the stat cache cannot answer. */
  readonly hasher: Xxh64Hasher | (() => Promise<Xxh64Hasher>);
}

/**
 * What one build did with its context, for `--metadata-file` and `wharf bench`: taken from the
 * fingerprinter's running counters, so reporting costs no extra syscalls.
 */
export interface ContextStats {
  /** Regular files in the context after the ignore file (COPY may select fewer). */
  readonly files: number;
  /** Files whose content was read and hashed, and how many bytes that was. */
  readonly filesHashed: number;
  readonly bytesHashed: number;
  /** Files whose fingerprint the stat cache answered without reading them. */
  readonly filesFromStatCache: number;
}

export interface BuildContext {
  readonly dir: string;
  /** The ignore file in effect, if any. */
  readonly ignoreFile: string | undefined;
  /** Every path the build may use, in walk order (ignored paths left out). */
  readonly entries: readonly ContextEntry[];
  readonly counters: FingerprintCounters;
  /** The counters so far, as a build reports them. */
  stats(): ContextStats;
  fingerprints(entries: readonly ContextEntry[]): Promise<ReadonlyMap<string, Xxh64>>;
  /** Fingerprints the entries' files and digests them (see treeDigest). */
  treeDigest(entries: readonly ContextEntry[]): Promise<Sha256>;
  /**
   * Carried extended attributes (see xattrSummary) of the files fingerprinted so far that have
   * any, by path: what a copy of them has to set.
   */
  readonly xattrs: ReadonlyMap<string, string>;
  /** The digest's material, to keep beside a cache record and explain a later miss. */
  treeRecords(entries: readonly ContextEntry[]): Promise<TreeRecord[]>;
  /** Persists the stat cache. */
  close(): Promise<void>;
}

/**
 * A first build of a context reads every file it copies: its hasher (a wasm module, ~1 ms to
 * instantiate, compiled off this thread) starts loading now, beside the planning and the steps
 * before the first COPY, not when that COPY asks for its first fingerprint.
 */
function loadingNow(hasher: OpenContextOptions['hasher']): OpenContextOptions['hasher'] {
  if (typeof hasher !== 'function') return hasher;
  const loading = hasher();
  loading.catch(() => undefined); // a failure is the first fingerprint's to report
  return () => loading;
}

/** Reads the ignore file, walks the context and opens its stat cache. */
export async function openContext(opts: OpenContextOptions): Promise<Result<BuildContext, IgnoreFileError>> {
  const ignore = await loadIgnoreFile(opts.contextDir, opts.dockerfile);
  if (!ignore.ok) return ignore;
  const entries = await walkContext(opts.contextDir, ignore.value.matcher ? { exclude: ignore.value.matcher } : {});
  const cache = !opts.storeRoot
    ? StatCache.inMemory()
    : opts.streamKey !== undefined
      ? await StatCache.openStreamed(opts.storeRoot, opts.streamKey)
      : await StatCache.open(opts.storeRoot, opts.contextDir);
  const files = entries.filter((e) => e.type === 'file').length;
  const fp = new Fingerprinter(opts.contextDir, cache.empty && files > 0 ? loadingNow(opts.hasher) : opts.hasher, cache);
  return ok({
    dir: opts.contextDir,
    ignoreFile: ignore.value.file,
    entries,
    counters: fp.counters,
    stats: () => ({ files, filesHashed: fp.counters.filesRead, bytesHashed: fp.counters.bytesHashed, filesFromStatCache: fp.counters.filesFromCache }),
    xattrs: fp.xattrs,
    fingerprints: (es) => fp.fingerprints(es),
    treeDigest: async (es) => digestTreeRecords(treeRecords(es, await fp.fingerprints(es), fp.xattrs)),
    treeRecords: async (es) => treeRecords(es, await fp.fingerprints(es), fp.xattrs),
    close: () => cache.save(entries),
  });
}
