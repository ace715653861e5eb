import { existsSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { LoadedImage } from '../image/index.js';
import { readTreeXattrs, type Compression, type LayerResult } from '../layer/index.js';
import type { Executor, ExitStatus, MountSpec, ProcessSpec, Stdio } from '../runtime/index.js';
import { dropPureCopyUps, makeUpperStubs, mountOverlay, type LayerRef, type SnapshotStore } from '../snapshot/index.js';
import type { Store } from '../store/index.js';
import { workLayout, type WorkDirs } from './work-dirs.js';

/**
 * One process in a throwaway container on top of an image's layers: overlay mount of the layer
 * snapshots plus a fresh upper dir, the executor, and then either the upper dir committed as a new
 * layer (a RUN step) or thrown away (`wharf run`). Mounts and temp dirs go on every path out.
 */
export interface ContainerDeps {
  readonly store: Store;
  readonly snapshots: SnapshotStore;
  readonly executor: Executor;
  /** Work dirs kept across a build's RUNs; without, each run makes and removes its own. */
  readonly workDirs?: WorkDirs;
}

export interface CommitRequest {
  readonly compression: Compression;
  readonly sourceDateEpoch?: number;
}

export interface ContainerResult extends ExitStatus {
  /** The committed layer, when a commit was asked for and the process exited 0. */
  readonly layer?: LayerResult;
}

export function layersOf(image: Pick<LoadedImage, 'manifest' | 'config'>): LayerRef[] {
  return image.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: image.config.rootfs.diff_ids[i]! }));
}

export async function runInContainer(
  deps: ContainerDeps,
  layers: readonly LayerRef[],
  spec: ProcessSpec,
  mounts: readonly MountSpec[],
  stdio: Stdio,
  signal: AbortSignal | undefined,
  commit?: CommitRequest,
): Promise<ContainerResult> {
  const lowers = await deps.snapshots.prepare(layers);
  const kept = deps.workDirs;
  const work = kept ? await kept.take() : await deps.store.tempDir('container');
  const { upper, rootfs, stubs: spares } = workLayout(work);
  let reusable = false;
  try {
    // Made in the plain upper dir, not by the runtime through the overlay (upper-stubs.ts says why).
    const stubs = makeUpperStubs(lowers, upper, kept ? spares : undefined);
    const mount = await mountOverlay({ lowers, upper, target: rootfs, linkDir: deps.snapshots.linkDir, keepDirs: kept !== undefined });
    let status: ExitStatus;
    try {
      status = await deps.executor.run(spec, mount.target, mounts, stdio, signal);
    } catch (e) {
      await mount.unmount();
      throw e;
    }
    // The umount syncs the upper dir's file system (1.5-4 ms, more under load): it runs on the
    // thread pool while the upper dir, which nothing writes to any more, is committed. The
    // overlay is not used meanwhile, and the step ends only once it is gone. That sync covers
    // the new snapshot's files and every snapshot installed before it (durable.ts).
    const committing = status.exitCode === 0 ? commit : undefined;
    const point = committing ? deps.snapshots.syncPoint(upper) : undefined;
    const unmounted = mount.unmount();
    unmounted.catch(() => undefined); // awaited below; a rejection before then is not unhandled
    try {
      if (!committing) return status;
      stubs.remove();
      // Mount-point stubs the runtime made copied their parent dirs up; an untouched copy-up is
      // not part of the step.
      // The xattrs are read once for both the opaque test and the layer tar.
      const xattrs = await readTreeXattrs(upper);
      await dropPureCopyUps(upper, lowers, undefined, xattrs);
      const layer = await deps.snapshots.commitUpper(upper, layers, {
        compression: committing.compression, xattrs,
        ...(committing.sourceDateEpoch !== undefined ? { sourceDateEpoch: committing.sourceDateEpoch } : {}),
        ...(point ? { writtenBefore: point } : {}),
      });
      return { ...status, layer };
    } finally {
      reusable = await unmounted;
      if (reusable && point) deps.snapshots.synced(point);
    }
  } finally {
    if (kept && reusable && !existsSync(upper)) kept.give(work);
    else await removeWorkDir(work, upper);
  }
}

/**
 * A step's work dir, once done. Once its upper dir is committed (moved into the snapshots) it is
 * empty and is removed in place, not through a thread pool that may be busy with a layer's
 * fsyncs (up to 7 ms here for one rmdir); an upper dir still there (a failed step, `wharf run`)
 * can hold a step's every file, and goes through the thread pool.
 */
export async function removeWorkDir(work: string, upper: string): Promise<void> {
  if (existsSync(upper)) await rm(work, { recursive: true, force: true });
  else rmSync(work, { recursive: true, force: true });
}
