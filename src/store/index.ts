/**
 * store: the content-addressed blob store in OCI image-layout form (contract in types.ts), tags in
 * index.json, image references, leases and locks, GC and fsck.
 *
 *   const store = await openStore(root)        blobs, tags, leases; GC keeps what hooks name
 *   parseReference('app:1') → Result<Reference>
 */
export type { BlobStore, BlobWriter, Descriptor, Lease, ResumableBlobWriter } from './types.js';
export { openStore, type FsckProblem, type FsckReport, type GcHook, type Store } from './store.js';
export { FsBlobStore } from './blobs.js';
export { parseReference, fullName, familiarName, familiarRepository, repositoryName, type Reference } from './reference.js';
export { emptyIndex, tagDescriptor, tagOf, type OciIndex, type TagEntry } from './oci-index.js';
export { pidAlive, acquireLock, tryAcquireLock, type Lock } from './lock.js';
export { walk, isManifestType, isIndexType } from './walk.js';
export { chainIds, chainId } from './chainid.js';
