import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { mountOverlay } from '../snapshot/index.js';
import type { StepLayer } from '../solver/index.js';
import { layerRefs, type BuildDeps, type StageState } from './state.js';

/**
 * A step that writes files without a container (COPY, ADD, WORKDIR): the stage's layers are
 * mounted with a fresh upper dir, `write` changes the merged tree directly, and the upper dir is
 * committed as the layer and kept as its snapshot — the same path a RUN takes, so directories that
 * already exist keep their owner and mode, symlinks on the way resolve inside the image, and a
 * later RUN mounts the result without unpacking it again.
 */
export async function writeThroughOverlay(deps: BuildDeps, state: StageState, write: (rootfs: string) => Promise<void>): Promise<StepLayer> {
  const layers = layerRefs(state.draft);
  const lowers = await deps.snapshots.prepare(layers);
  const work = await deps.store.tempDir('fswrite');
  const upper = join(work, 'upper');
  try {
    const mount = await mountOverlay({ lowers, upper, target: join(work, 'rootfs') });
    try {
      await write(mount.target);
    } finally {
      await mount.unmount();
    }
    const layer = await deps.snapshots.commitUpper(upper, layers, deps.compression, deps.sourceDateEpoch);
    return { descriptor: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, diffId: layer.diffId };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A read-only view of another stage's files for COPY --from (its own throwaway upper dir). */
export async function withStageView<T>(deps: BuildDeps, state: StageState, read: (rootfs: string) => Promise<T>): Promise<T> {
  const lowers = await deps.snapshots.prepare(layerRefs(state.draft));
  const work = await deps.store.tempDir('fsread');
  try {
    const mount = await mountOverlay({ lowers, upper: join(work, 'upper'), target: join(work, 'rootfs') });
    try {
      return await read(mount.target);
    } finally {
      await mount.unmount();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
