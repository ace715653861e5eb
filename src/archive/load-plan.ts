// The result both loaders build (load.ts for docker archives, load-oci.ts for OCI layouts): kept
// apart from either so neither imports the other for it.
import type { Platform } from '../util/index.js';
import type { LayerRef } from '../snapshot/index.js';
import type { Descriptor, Reference } from '../store/index.js';

/** What an archive holds, verified: `store` puts its blobs, then the targets are tagged. */
export interface LoadPlan {
  readonly store: () => Promise<void>;
  readonly images: { readonly layers: readonly LayerRef[]; readonly platform?: Platform }[];
  readonly tags: { readonly ref: Reference; readonly target: Descriptor }[];
}
