import { join, posix } from 'node:path';
import { readTreeXattrs, type TarReuse, type Xattrs } from '../layer/index.js';
import { directUpper, mountOverlay, type DirectUpper, type LayerRef } from '../snapshot/index.js';
import type { UserFiles } from '../runtime/index.js';
import { cloneCopy, type PlannedItem } from './copy/reuse.js';
import type { CopyLineage } from './copy/lineage.js';
import type { StepLayer } from '../solver/index.js';
import { layerRefs, type BuildDeps, type StageState } from './state.js';
import { removeWorkDir } from './container.js';

/**
 * Where a step writes, for writing straight into a fresh upper dir (snapshot/direct-upper.ts):
 * the image path (absolute) everything it writes is at or below, and whether that path may be a
 * regular file of the image the step replaces.
 */
export interface DirectTarget {
  readonly dest: string;
  readonly replaceFile: boolean;
  /** The directories it makes below dest (relative, parents first), when known beforehand. */
  readonly dirsBelow?: readonly string[];
}

/** How many steps of this process wrote straight into an upper dir, and how many on a mount (for tests). */
export const fsWriteCounts = { direct: 0, mounted: 0 };

/**
 * A step that writes files without a container (COPY, WORKDIR): `write` gets the tree to change
 * and where to read the image's users from (the merged tree, or a reader through the lowers).
 *
 * With `direct`, the step first writes straight into a fresh upper dir, as overlayfs would leave
 * it (snapshot/direct-upper.ts); wherever that cannot be shown to give the same upper dir (a
 * symlink on the way, a type change, a failure of any kind) it runs again the usual way: the
 * stage's layers are mounted with a fresh upper dir and `write` changes the merged tree, so
 * directories that already exist keep their owner and mode and symlinks on the way resolve
 * inside the image. Either way the upper dir is committed as the layer and kept as its snapshot,
 * the same path a RUN takes, so a later RUN mounts the result without unpacking it again.
 */
export async function writeThroughOverlay(
  deps: BuildDeps, state: StageState, write: (rootfs: string, users: string | UserFiles) => Promise<void>, inspect?: (xattrs: ReadonlyMap<string, Xattrs>) => void, reuse?: TarReuse,
  direct?: DirectTarget,
): Promise<StepLayer> {
  const layers = layerRefs(state.draft);
  const lowers = await deps.snapshots.prepare(layers);
  if (direct && deps.fsWrite !== 'overlay') {
    // The upper dir is made where its snapshot will be (commitUpper keeps it in place).
    const fresh = await deps.snapshots.upperDir();
    try {
      const upper = fresh.path;
      const dest = posix.normalize(direct.dest).split('/').filter(Boolean);
      const view = await directUpper(lowers, upper, dest, direct.replaceFile, direct.dirsBelow).catch(() => undefined);
      const wrote = view && (await write(upper, view.userFiles).then(() => true, () => false));
      if (view && wrote && settled(view)) {
        fsWriteCounts.direct++;
        return await commit(deps, upper, layers, inspect, reuse);
      }
    } finally {
      await fresh.discard();
    }
  }
  fsWriteCounts.mounted++;
  const work = await deps.store.tempDir('fswrite');
  const upper = join(work, 'upper');
  try {
    const mount = await mountOverlay({ lowers, upper, target: join(work, 'rootfs'), linkDir: deps.snapshots.linkDir });
    try {
      await write(mount.target, mount.target);
    } finally {
      await mount.unmount();
    }
    return await commit(deps, upper, layers, inspect, reuse);
  } finally {
    await removeWorkDir(work, upper);
  }
}

/** An upper dir that cannot be checked is redone on a mount, like one that fails the check. */
function settled(view: DirectUpper): boolean {
  try {
    return view.settle();
  } catch {
    return false;
  }
}

/**
 * A context COPY made from the previous run of the same step (copy/reuse.ts): its snapshot is the
 * starting point, no overlay is mounted. Undefined when cloneCopy cannot prove the result the
 * same as a full copy (the caller then copies in full).
 */
export async function cloneThenCommit(
  deps: BuildDeps, state: StageState, lineage: CopyLineage, planned: ReadonlyMap<string, PlannedItem>, inspect: (xattrs: ReadonlyMap<string, Xattrs>) => void, reuse: TarReuse,
): Promise<(StepLayer & { linked: number; copied: number; removed: number }) | undefined> {
  const layers = layerRefs(state.draft);
  await deps.protect(lineage.layer.digest);
  const lowers = await deps.snapshots.prepare([...layers, { descriptor: lineage.layer, diffId: lineage.diffId }]).catch(() => undefined);
  if (!lowers) return undefined;
  const work = await deps.store.tempDir('fsclone');
  const upper = join(work, 'upper');
  try {
    const cloned = await cloneCopy(lowers[0]!, lowers.slice(1), upper, lineage, planned);
    if (!cloned) return undefined;
    return { ...(await commit(deps, upper, layers, inspect, reuse)), ...cloned };
  } finally {
    await removeWorkDir(work, upper);
  }
}

/** The upper dir as the step's layer; its xattrs are read once, for `inspect` and the tar. */
async function commit(
  deps: BuildDeps, upper: string, layers: readonly LayerRef[], inspect?: (xattrs: ReadonlyMap<string, Xattrs>) => void, reuse?: TarReuse,
): Promise<StepLayer> {
  const xattrs = inspect ? await readTreeXattrs(upper) : undefined;
  if (xattrs) inspect!(xattrs);
  const layer = await deps.snapshots.commitUpper(upper, layers, {
    compression: deps.compression,
    ...(deps.sourceDateEpoch !== undefined ? { sourceDateEpoch: deps.sourceDateEpoch } : {}),
    ...(xattrs ? { xattrs } : {}), ...(reuse ? { reuse } : {}),
  });
  return { descriptor: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, diffId: layer.diffId };
}

/**
 * A view of another stage's files: read-only for COPY --from and a read-only bind (the lowers
 * alone, no upper dir), or with a throwaway upper dir (`writable`) for `RUN --mount=from=…,rw`.
 */
export async function withStageView<T>(deps: BuildDeps, state: StageState, read: (rootfs: string) => Promise<T>, writable = false): Promise<T> {
  const lowers = await deps.snapshots.prepare(layerRefs(state.draft));
  const work = await deps.store.tempDir('fsread');
  try {
    const mount = await mountOverlay({ lowers, ...(writable ? { upper: join(work, 'upper') } : {}), target: join(work, 'rootfs'), linkDir: deps.snapshots.linkDir });
    try {
      return await read(mount.target);
    } finally {
      await mount.unmount();
    }
  } finally {
    await removeWorkDir(work, join(work, 'upper'));
  }
}
