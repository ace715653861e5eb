export type { Executor, ExitStatus, MountSpec, NetworkMode, ProcessSpec, ResourceLimits, Stdio } from './types.js';
export { createLazyOciExecutor, createOciExecutor, detectOciRuntime } from './oci-executor.js';
export type { OciExecutor, OciExecutorOptions, OciRuntimeName } from './oci-executor.js';
export { resolveUser } from './user.js';
export type { ResolvedUser } from './user.js';
export { buildOciConfig, DEFAULT_CAPABILITIES, MASKED_PATHS, READONLY_PATHS } from './oci-config.js';
export { resolveInRoot, resolveInRootSync } from './in-root.js';
