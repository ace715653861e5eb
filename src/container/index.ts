/**
 * container: working containers kept under the store (`wharf container …`): an image's snapshots
 * plus an upper dir of their own, a process run and watched, exec, signals, copy in and out,
 * config edits, and commit of the upper dir as a layer.
 *
 *   const rec = await createContainer(deps, { image, name, cmd })
 *   await runContainerProcess(deps, rec.id, stdio)      the caller watches it to its end
 *   await commitContainer(deps, rec.id, { tag: 'app:1', changes: ['CMD ["app"]'] })
 *   await removeContainer(deps, rec.id, force)
 */
export type { ContainerProcess, ContainerRecord, ContainerState, LiveStatus } from './types.js';
export { findRecord, listRecords, liveStatus, orphanDirs, pathsOf, readRecord, writeRecord, type ContainerPaths } from './records.js';
export {
  createContainer, execInContainer, isRunning, killContainer, observedStatus, layerRefsOf, mountRootfs, removeContainer, removeContainerDir, runContainerProcess, stopContainer,
  unmountRootfs, waitStopped, withRootfs, type ContainerDeps, type CreateOptions, type ExecRequest,
} from './lifecycle.js';
export { commitContainer, type CommitOptions, type CommitResult } from './commit.js';
export { applyInstructions, editContainerConfig, editsAsInstructions, type ConfigEdits } from './config-edits.js';
export { copyFromContainer, copyIntoContainer } from './copy.js';
export { containersGcHook } from './gc.js';
