/**
 * The record an incremental COPY (reuse.ts) starts from: the layer a context COPY made and,
 * per file, what it copied. Kept apart from the copy code so every command's GC can collect it
 * without loading that.
 *
 * On-disk contract (a store of its own beside `store/`, owned by this module; the only writer and
 * reader, GC reaches it through `copyLineageGcHook`):
 *
 *   <root>/cache/copy-lineage/<lineage hex>.json   one `StoredLineage` (format `v`), where the hex
 *                                                 is `lineageId` (reuse.ts): the parent's diff_ids,
 *                                                 the step's op, exec and platform
 *
 * - Written with `replaceFileSync` (temp sibling `.<name>.tmp-<pid>-…`, rename, no fsync, as the
 *   build cache's records): a record lost or emptied by a crash does not parse and only makes the
 *   next COPY copy in full. Its fsync and thread-pool round trips were ~1 ms of every context COPY.
 * - Readers never read a temp sibling; one whose writer is dead is removed by the next listing.
 * - A record of another format, or one that does not parse, is a miss (never an error); listing
 *   code skips it and warns.
 * - A record is valid only while its layer blob exists: GC deletes records whose layer is neither
 *   live nor in the store, and `forgetLineages` drops those of given layers (bench --mode cold).
 * - Cache keys never depend on these files: deleting the directory is always safe.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSha256, sha256Hex, type Sha256 } from '../../hash/index.js';
import { pidAlive, type BlobStore, type Descriptor, type GcHook } from '../../store/index.js';
import type { FileSpan } from '../../layer/index.js';
import { replaceFileSync, tempSiblingOwner } from '../../util/index.js';

/**
 * One file a COPY wrote: content fingerprint, size, source mtime (ms, as the copy sets it), final
 * mode. A symlink is `->target`, 0, its mtime, 0.
 */
export type CopiedFile = readonly [fingerprint: string, size: number, mtimeMs: number, mode: number];

export interface CopyLineage {
  readonly layer: Descriptor;
  readonly diffId: Sha256;
  /** Upper-dir paths (no leading /) of the files and symlinks the COPY wrote. */
  readonly files: ReadonlyMap<string, CopiedFile>;
  /** Upper-dir paths of the source directories, with their final mode. */
  readonly dirs: ReadonlyMap<string, number>;
  /** The --chown owner it resolved (the same parent has the same passwd). */
  readonly owner: { readonly uid: number; readonly gid: number };
  /** Where each regular file's entry is in the layer blob, when it is a plain tar (see TarReuse). */
  readonly spans: ReadonlyMap<string, FileSpan>;
}

/**
 * On disk, files and their spans are one flat array, FILE_FIELDS values per path: a 50,000-key
 * object took ~100 ms to parse and as long to build, most of an incremental COPY's bookkeeping.
 */
interface StoredLineage {
  readonly v: typeof FORMAT;
  readonly layer: Descriptor;
  readonly diffId: Sha256;
  readonly owner: { readonly uid: number; readonly gid: number };
  readonly dirs: Readonly<Record<string, number>>;
  readonly paths: readonly string[];
  /** fingerprint, size, mtimeMs, mode, span inode ('' without one), span offset, span length. */
  readonly files: readonly (string | number)[];
}

const FORMAT = 2;
const FILE_FIELDS = 7;

const lineageFile = (root: string, id: Sha256) => join(root, 'cache', 'copy-lineage', `${sha256Hex(id)}.json`);

export function readLineage(root: string, id: Sha256): CopyLineage | undefined {
  let stored: StoredLineage;
  try {
    stored = JSON.parse(readFileSync(lineageFile(root, id), 'utf8')) as StoredLineage;
  } catch {
    return undefined;
  }
  // An older format starts over: the COPY copies in full once and writes this one.
  if (stored.v !== FORMAT || stored.files.length !== stored.paths.length * FILE_FIELDS) return undefined;
  const files = new Map<string, CopiedFile>();
  const spans = new Map<string, FileSpan>();
  const f = stored.files;
  stored.paths.forEach((p, i) => {
    const at = i * FILE_FIELDS;
    files.set(p, [f[at] as string, f[at + 1] as number, f[at + 2] as number, f[at + 3] as number]);
    if (f[at + 4]) spans.set(p, { inode: f[at + 4] as string, offset: f[at + 5] as number, length: f[at + 6] as number });
  });
  return { layer: stored.layer, diffId: stored.diffId, owner: stored.owner, dirs: new Map(Object.entries(stored.dirs)), files, spans };
}

export function writeLineage(root: string, id: Sha256, lineage: CopyLineage): void {
  const paths: string[] = [];
  const files: (string | number)[] = [];
  for (const [p, file] of lineage.files) {
    const span = lineage.spans.get(p);
    paths.push(p);
    files.push(...file, span?.inode ?? '', span?.offset ?? 0, span?.length ?? 0);
  }
  const stored: StoredLineage = { v: FORMAT, layer: lineage.layer, diffId: lineage.diffId, owner: lineage.owner, dirs: Object.fromEntries(lineage.dirs), paths, files };
  mkdirSync(join(root, 'cache', 'copy-lineage'), { recursive: true });
  replaceFileSync(lineageFile(root, id), JSON.stringify(stored));
}

/**
 * Every lineage file with the layer it names. Temp files of writers (`.<name>.tmp-<pid>-…`) are
 * never read: a live writer's is half written (a concurrent prune read one and crashed). A dead
 * writer's is removed; a record that cannot be parsed is skipped and reported through `warn`.
 */
async function lineageFiles(root: string, warn?: (message: string) => void): Promise<{ path: string; layer: string }[]> {
  const dir = join(root, 'cache', 'copy-lineage');
  const out: { path: string; layer: string }[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    const writer = tempSiblingOwner(name);
    if (writer !== undefined) {
      if (!pidAlive(writer)) await rm(path, { force: true });
      continue;
    }
    if (!name.endsWith('.json')) continue;
    const layer = await lineageLayer(path);
    if (layer === undefined) warn?.(`skipped the unreadable copy lineage ${path} (delete it if it stays)`);
    else out.push({ path, layer });
  }
  return out;
}

/** The layer digest a lineage file names ('' when it names none), undefined when it cannot be read. */
async function lineageLayer(path: string): Promise<string | undefined> {
  try {
    const lineage = JSON.parse(await readFile(path, 'utf8')) as Partial<CopyLineage> | null;
    return typeof lineage?.layer?.digest === 'string' ? lineage.layer.digest : '';
  } catch {
    return undefined;
  }
}

/** Removes the lineages of these layers (a cold benchmark run must not start from them); returns how many. */
export async function forgetLineages(root: string, layers: ReadonlySet<string>): Promise<number> {
  let removed = 0;
  for (const { path, layer } of await lineageFiles(root)) {
    if (!layers.has(layer)) continue;
    await rm(path, { force: true });
    removed++;
  }
  return removed;
}

/** GC: a lineage whose layer blob is gone can no longer be cloned from. */
export function copyLineageGcHook(root: string, blobs: Pick<BlobStore, 'has'>): GcHook {
  return {
    name: 'copy-lineage',
    async collect(live, warn) {
      let freed = 0;
      for (const { path, layer } of await lineageFiles(root, warn)) {
        if (isSha256(layer) && (live.has(layer) || (await blobs.has(layer)))) continue;
        freed += (await stat(path).catch(() => undefined))?.size ?? 0;
        await rm(path, { force: true });
      }
      return freed;
    },
  };
}
