/**
 * Incremental COPY: when a context COPY misses only because some files changed, its new upper dir
 * is made from the previous run's snapshot of the same step (same parent, same instruction) rather
 * than copied again. Unchanged files are hard-linked (snapshots are never written once made:
 * overlay lowers are read-only and a container's writes copy up), changed files are copied.
 *
 * The result is the tree a full COPY would write, entry for entry: same paths, owners, modes and
 * mtimes, so the layer is byte-identical. Anything the clone cannot prove the same — a new file
 * where a parent layer has something, a directory's mode changed, a whiteout, an xattr a layer
 * keeps — makes `cloneCopy` answer false, and the caller copies in full.
 *
 * What the previous run left is in lineage.ts.
 */
import { chmodSync, lchownSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, utimesSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import type { ContextEntry, TreeRecord } from '../../context/index.js';
import type { ChmodSpec } from '../../instructions/index.js';
import type { SourceRoot } from './sources.js';
import { digestOfJSON, type Sha256 } from '../../hash/index.js';
import type { Descriptor } from '../../store/index.js';
import type { CopiedFile, CopyLineage } from './lineage.js';
import { layerMediaType, type FileSpan, type TarReuse, type Xattrs } from '../../layer/index.js';
import { copyFileContents, writeSymlink, YIELD_EVERY_MS, type Owner } from './copy.js';
import { timeSlicer } from '../../util/index.js';

/** A file or directory the COPY is to write now, by upper-dir path. */
export interface PlannedItem {
  readonly abs: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly file?: CopiedFile;
  readonly dirMode?: number;
  readonly linkTarget?: string;
}

/** overlayfs bookkeeping a layer tar drops anyway; any other xattr makes a tree not cloneable. */
const DROPPED_XATTRS = new Set(['trusted.overlay.origin', 'trusted.overlay.impure', 'trusted.overlay.uuid']);

export function cloneable(xattrs: ReadonlyMap<string, Xattrs>): boolean {
  for (const attrs of xattrs.values()) for (const name of attrs.keys()) if (!DROPPED_XATTRS.has(name)) return false;
  return true;
}

/**
 * The step a lineage follows: the same instruction with the same exec context on the same parent
 * *layers* (not the parent key: a rebuild of the parent under --no-cache can give other bytes,
 * and the old snapshot's copied-up directories came from the old ones).
 */
export function lineageId(parentDiffIds: readonly Sha256[], material: { op: unknown; exec: unknown; platform: unknown }): Sha256 {
  return digestOfJSON({ parent: parentDiffIds, op: material.op, exec: material.exec, platform: material.platform });
}

const sameFile = (a: CopiedFile | undefined, b: CopiedFile | undefined) =>
  a !== undefined && b !== undefined && a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];

/**
 * Makes `upper` (absent) the tree the COPY would write on top of the same parent, from `previous`
 * (the old step's snapshot dir, whose parent layers are `parentLowers`, top first) and `planned`.
 * Files and directories gone from the sources are left out; new ones are written where no parent
 * layer has anything at their path. False (and `upper` half made, for the caller to remove) when
 * the trees differ in more than that.
 */
export async function cloneCopy(
  previous: string, parentLowers: readonly string[], upper: string, lineage: CopyLineage, planned: ReadonlyMap<string, PlannedItem>,
): Promise<{ linked: number; copied: number; removed: number } | false> {
  const seen = new Set<string>();
  let linked = 0;
  let copied = 0;
  let removed = 0;
  const slice = timeSlicer(YIELD_EVERY_MS);
  const dirTimes: [string, PlannedItem | undefined, Date][] = [];
  const owner = lineage.owner;

  async function visit(rel: string): Promise<boolean> {
    for (const name of readdirSync(join(previous, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const from = join(previous, p);
      const to = join(upper, p);
      const st = lstatSync(from);
      const want = planned.get(p);
      if (!want && (lineage.dirs.has(p) || lineage.files.has(p))) {
        removed++; // gone from the sources: a full copy would not write it either
        continue;
      }
      if (st.isDirectory()) {
        if (want && (want.type !== 'dir' || lineage.dirs.get(p) !== want.dirMode)) return false;
        if (want) seen.add(p);
        // A directory keeps the snapshot's owner and mode: the same parent gives the same ones.
        mkdirSync(to);
        lchownSync(to, st.uid, st.gid);
        chmodSync(to, st.mode & 0o7777);
        dirTimes.push([to, want, st.mtime]);
        if (!(await visit(p))) return false;
        continue;
      }
      if (!want || (!st.isFile() && !st.isSymbolicLink())) return false;
      seen.add(p);
      if (st.isSymbolicLink()) {
        if (want.type !== 'symlink' || readlinkSync(from) !== want.linkTarget) return false;
        if (sameFile(lineage.files.get(p), want.file)) {
          linkSync(from, to);
          linked++;
        } else {
          writeSymlink(want.abs, want.linkTarget, to, owner);
          copied++;
        }
      } else {
        if (want.type !== 'file' || !lineage.files.has(p)) return false;
        if (sameFile(lineage.files.get(p), want.file)) {
          linkSync(from, to);
          linked++;
        } else {
          copyFileContents(want.abs, to, want.file![3], owner);
          copied++;
        }
      }
      await slice();
    }
    return true;
  }

  mkdirSync(upper);
  const top = lstatSync(previous);
  lchownSync(upper, top.uid, top.gid);
  chmodSync(upper, top.mode & 0o7777);
  if (!(await visit(''))) return false;
  // New sources, parents first (planned is in walk order). Written as the full copy writes them,
  // which is only the same when nothing below is there: a parent layer's directory would keep its
  // owner and mode, its file would need removing.
  for (const [p, want] of planned) {
    if (seen.has(p)) continue;
    const parent = posix.dirname(p);
    if (parent !== '.' && !lstatSync(join(upper, parent), { throwIfNoEntry: false })?.isDirectory()) return false;
    if (parentLowers.some((l) => lstatSync(join(l, p), { throwIfNoEntry: false }) !== undefined)) return false;
    const to = join(upper, p);
    if (want.type === 'dir') {
      mkdirSync(to);
      lchownSync(to, owner.uid, owner.gid);
      chmodSync(to, want.dirMode!);
      dirTimes.push([to, want, new Date()]);
    } else if (want.type === 'symlink') writeSymlink(want.abs, want.linkTarget!, to, owner);
    else copyFileContents(want.abs, to, want.file![3], owner);
    if (want.type !== 'dir') copied++;
    await slice();
  }
  // Source directories take the source's mtime (as the full copy sets it), others keep theirs.
  for (const [to, want, old] of dirTimes.reverse()) {
    const t = want ? lstatSync(want.abs).mtime : old;
    utimesSync(to, t, t);
  }
  utimesSync(upper, top.atime, top.mtime);
  return { linked, copied, removed };
}

/**
 * What a COPY of one context directory writes, by upper-dir path, with the fingerprints its key
 * was made of; undefined when an item has no record (nothing to compare it by).
 */
export function planCopy(
  root: SourceRoot, destAbs: string, contextDir: string, records: readonly TreeRecord[], entries: readonly ContextEntry[], chmod: ChmodSpec | undefined,
): Map<string, PlannedItem> | undefined {
  const prefix = posix.normalize(destAbs).replace(/^\/+|\/+$/g, '');
  const recordOf = new Map(records.map((r) => [r.path, r]));
  const entryOf = new Map(entries.map((e) => [e.path, e]));
  const planned = new Map<string, PlannedItem>();
  for (const it of root.items.slice(1)) {
    // A FIFO, socket or device: the full copy refuses it with its name.
    if (it.type === 'other') return undefined;
    const p = prefix ? `${prefix}/${it.rel}` : it.rel;
    // Items are context paths joined onto the context dir (path.relative is slow for 50k of them).
    const ctxPath = it.abs.startsWith(`${contextDir}/`) ? it.abs.slice(contextDir.length + 1) : relative(contextDir, it.abs).split(sep).join('/');
    const rec = recordOf.get(ctxPath);
    const entry = entryOf.get(ctxPath);
    // A file with attributes is copied in full (the clone does not set them).
    if (!rec || !entry || rec.xattrs) return undefined;
    const mtimeMs = entry.mtimeMs;
    if (it.type === 'dir') planned.set(p, { abs: it.abs, type: 'dir', dirMode: chmod ? chmod.apply(it.mode, true) : it.mode });
    // A symlink is compared like a file, by its target and the mtime the copy gives it.
    else if (it.type === 'symlink') planned.set(p, { abs: it.abs, type: 'symlink', linkTarget: it.linkTarget ?? '', file: [`->${it.linkTarget ?? ''}`, 0, mtimeMs, 0] });
    else {
      planned.set(p, { abs: it.abs, type: 'file', file: [rec.fingerprint, rec.size, mtimeMs, chmod ? chmod.apply(it.mode, false) : it.mode] });
    }
  }
  return planned;
}

/** The lineage a finished COPY leaves for its next run. */
export function lineageOf(
  layer: { descriptor: Descriptor; diffId: Sha256 }, planned: ReadonlyMap<string, PlannedItem>, owner: Owner, spans: ReadonlyMap<string, FileSpan>,
): CopyLineage {
  const files = new Map<string, CopiedFile>();
  const dirs = new Map<string, number>();
  for (const [p, it] of planned) {
    if (it.file) files.set(p, it.file);
    else if (it.type === 'dir') dirs.set(p, it.dirMode!);
  }
  return { layer: layer.descriptor, diffId: layer.diffId, files, dirs, owner, spans };
}

/** What an incremental COPY's tar can copy out of the previous layer (see TarReuse). */
export function spliceSource(lineage: CopyLineage, blobPath: (digest: Sha256) => string): TarReuse['from'] {
  if (lineage.spans.size === 0 || lineage.layer.mediaType !== layerMediaType('none')) return undefined;
  return { blobPath: blobPath(lineage.layer.digest), spans: lineage.spans };
}
