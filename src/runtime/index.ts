export type { Executor, ExitStatus, MountSpec, NetworkMode, ProcessSpec, ResourceLimits, SecurityMode, Stdio, Ulimit } from './types.js';
export { createLazyOciExecutor, createOciExecutor, detectOciRuntime } from './oci-executor.js';
export type { OciExecutor, OciExecutorOptions, OciRuntimeName } from './oci-executor.js';
export { resolveUser } from './user.js';
export type { ResolvedUser } from './user.js';
export { ALL_CAPABILITIES, buildOciConfig, DEFAULT_CAPABILITIES, DEFAULT_SHM_BYTES, MASKED_PATHS, READONLY_PATHS } from './oci-config.js';
export { seccompConfig } from './seccomp.js';
export { resolveInRoot, resolveInRootSync } from './in-root.js';
export { removeLeftoverContainers } from './leftovers.js';
