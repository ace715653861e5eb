export * from './types.js';
export * from './reference.js';
export * from './oci-index.js';
export { openStore, LEASE_GRACE_MS, type Store, type StoreOptions, type GcHook, type GcReport, type FsckReport, type FsckProblem } from './store.js';
export { FsBlobStore, LeasedBlobStore } from './blobs.js';
export { pidAlive, acquireLock, tryAcquireLock, type Lock, type LockOptions } from './lock.js';
export { childrenOf, walk, isManifestType, isIndexType } from './walk.js';
export { chainIds, chainId } from './chainid.js';
