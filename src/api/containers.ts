/**
 * Working containers as a library: the store and snapshot wiring around src/container, so the
 * CLI (and later the server) only parse arguments and print.
 */
import { containersGcHook, type ContainerDeps } from '../container/index.js';
import { openSnapshots } from '../snapshot/index.js';
import { openApiStore } from './open-store.js';

export async function openContainers(root: string): Promise<ContainerDeps> {
  const store = await openApiStore(root);
  return { root, store, snapshots: openSnapshots(root, store) };
}

export { containersGcHook };
export {
  commitContainer, copyFromContainer, copyIntoContainer, createContainer, editContainerConfig, execInContainer, findRecord, killContainer, listRecords,
  isRunning, liveStatus, observedStatus, pathsOf, readRecord, removeContainer, runContainerProcess, stopContainer, waitStopped,
  type CommitOptions, type ConfigEdits, type ContainerDeps, type ContainerRecord, type CreateOptions, type ExecRequest, type LiveStatus,
} from '../container/index.js';
export type { ContainerStdio, RunHooks as ContainerRunHooks } from '../runtime/index.js';
