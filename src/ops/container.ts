import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedImage } from '../image/index.js';
import { readTreeXattrs, type Compression, type LayerResult } from '../layer/index.js';
import type { Executor, ExitStatus, MountSpec, ProcessSpec, Stdio } from '../runtime/index.js';
import { dropPureCopyUps, mountOverlay, type LayerRef, type SnapshotStore } from '../snapshot/index.js';
import type { Store } from '../store/index.js';

/**
 * One process in a throwaway container on top of an image's layers: overlay mount of the layer
 * snapshots plus a fresh upper dir, the executor, and then either the upper dir committed as a new
 * layer (a RUN step) or thrown away (`wharf run`). Mounts and temp dirs go on every path out.
 */
export interface ContainerDeps {
  readonly store: Store;
  readonly snapshots: SnapshotStore;
  readonly executor: Executor;
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
  const work = await deps.store.tempDir('container');
  const upper = join(work, 'upper');
  try {
    const mount = await mountOverlay({ lowers, upper, target: join(work, 'rootfs'), linkDir: deps.snapshots.linkDir });
    let status: ExitStatus;
    try {
      status = await deps.executor.run(spec, mount.target, mounts, stdio, signal);
    } finally {
      await mount.unmount();
    }
    if (!commit || status.exitCode !== 0) return status;
    // Mount-point stubs copy their parent dirs up; an untouched copy-up is not part of the step.
    // The xattrs are read once (one getfattr process) for both the opaque test and the layer tar.
    const xattrs = await readTreeXattrs(upper);
    await dropPureCopyUps(upper, lowers, undefined, xattrs);
    const layer = await deps.snapshots.commitUpper(upper, layers, commit.compression, commit.sourceDateEpoch, xattrs);
    return { ...status, layer };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
