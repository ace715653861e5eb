/**
 * runtime: the Executor interface (types.ts) and its OCI runtime backend (runc or crun driven by a
 * generated config.json), plus what RUN needs around it: users from the image's /etc/passwd, paths
 * resolved inside a rootfs, and sweeping containers (and the cgroups wharf made for crun) dead builds
 * left behind. crun's probe verdict and compiled seccomp filters are kept across processes in a
 * root-only host cache (host-cache.ts) when the caller names one (`cacheDir`).
 *
 *   const exec = createLazyOciExecutor(opts)     the runtime is found on first use
 *   await exec.run(process, rootfs, mounts, stdio, signal) → ExitStatus
 */
export type { Executor, ExitStatus, MountSpec, NetworkMode, ProcessSpec, ResourceLimits, Stdio, Ulimit } from './types.js';
export { createLazyOciExecutor, createOciExecutor } from './oci-executor.js';
export { resolveUser, type UserFiles } from './user.js';
export { resolveInRoot, resolveInRootSync } from './in-root.js';
export { removeLeftoverContainers } from './leftovers.js';
export { removeLeftoverCgroups } from './cgroups.js';
export { openSlirpNetwork, type NetworkNamespace } from './network.js';
export {
  bundleStubs, deleteContainer, execIn, pauseContainer, removeBundleStubs, resumeContainer, runBundle, runtimeSignal, runtimeStatus, writeBundle,
  type ContainerRef, type ContainerStdio, type StubRecord, type ExecOptions, type RunHooks,
} from './container.js';
