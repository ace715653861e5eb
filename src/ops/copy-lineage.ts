/**
 * The record an incremental COPY (copy-reuse.ts) starts from: the layer a context COPY made and,
 * per file, what it copied. Kept apart from the copy code so every command's GC can collect it
 * without loading that.
 *
 *   <root>/cache/copy-lineage/<lineage hex>.json
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSha256, sha256Hex, type Sha256 } from '../hash/index.js';
import type { BlobStore, Descriptor, GcHook } from '../store/index.js';
import { atomicWriteFile } from '../util/index.js';

/**
 * One file a COPY wrote: content fingerprint, size, source mtime (ms, as the copy sets it), final
 * mode. A symlink is `->target`, 0, its mtime, 0.
 */
export type CopiedFile = readonly [fingerprint: string, size: number, mtimeMs: number, mode: number];

export interface CopyLineage {
  readonly layer: Descriptor;
  readonly diffId: Sha256;
  /** Upper-dir paths (no leading /) of the files and symlinks the COPY wrote. */
  readonly files: Readonly<Record<string, CopiedFile>>;
  /** Upper-dir paths of the source directories, with their final mode. */
  readonly dirs: Readonly<Record<string, number>>;
  /** The --chown owner it resolved (the same parent has the same passwd). */
  readonly owner: { readonly uid: number; readonly gid: number };
  /** Where each regular file's entry is in the layer blob, when it is a plain tar (see TarReuse). */
  readonly spans?: Readonly<Record<string, readonly [inode: string, offset: number, length: number]>>;
}

const lineageFile = (root: string, id: Sha256) => join(root, 'cache', 'copy-lineage', `${sha256Hex(id)}.json`);

export function readLineage(root: string, id: Sha256): CopyLineage | undefined {
  try {
    return JSON.parse(readFileSync(lineageFile(root, id), 'utf8')) as CopyLineage;
  } catch {
    return undefined;
  }
}

export async function writeLineage(root: string, id: Sha256, lineage: CopyLineage): Promise<void> {
  mkdirSync(join(root, 'cache', 'copy-lineage'), { recursive: true });
  await atomicWriteFile(lineageFile(root, id), JSON.stringify(lineage));
}

/** Every lineage file with the layer it names ('' when unreadable). */
async function lineageFiles(root: string): Promise<{ path: string; layer: string }[]> {
  const dir = join(root, 'cache', 'copy-lineage');
  const out: { path: string; layer: string }[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    const lineage = JSON.parse(await readFile(path, 'utf8').catch(() => '{}')) as Partial<CopyLineage>;
    out.push({ path, layer: lineage.layer?.digest ?? '' });
  }
  return out;
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
    async collect(live) {
      let freed = 0;
      for (const { path, layer } of await lineageFiles(root)) {
        if (isSha256(layer) && (live.has(layer) || (await blobs.has(layer)))) continue;
        freed += (await stat(path).catch(() => undefined))?.size ?? 0;
        await rm(path, { force: true });
      }
      return freed;
    },
  };
}
