import { isSha256, type Sha256 } from '../hash/index.js';
import type { Descriptor } from './types.js';

/** Media types whose blobs point at other blobs (OCI and Docker v2 forms). */
const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);
const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

export const isManifestType = (t: string): boolean => MANIFEST_TYPES.has(t);
export const isIndexType = (t: string): boolean => INDEX_TYPES.has(t);
export const hasChildren = (t: string): boolean => MANIFEST_TYPES.has(t) || INDEX_TYPES.has(t);

interface ManifestLike {
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
}

/** The descriptors a manifest or index document refers to (config + layers, or manifests). */
export function childrenOf(mediaType: string, doc: unknown): Descriptor[] {
  const m = (doc ?? {}) as ManifestLike;
  const out: Descriptor[] = [];
  if (MANIFEST_TYPES.has(mediaType)) {
    if (m.config) out.push(m.config);
    out.push(...(m.layers ?? []));
  } else if (INDEX_TYPES.has(mediaType)) {
    out.push(...(m.manifests ?? []));
  }
  return out.filter((d) => d && typeof d.digest === 'string' && isSha256(d.digest) && typeof d.size === 'number');
}

export interface Reachable {
  /** Every blob referenced from the roots, with the size its descriptor states. */
  readonly blobs: Map<Sha256, Descriptor>;
  /** Problems met while walking (missing or unreadable manifests). */
  readonly errors: { digest: Sha256; error: unknown }[];
}

/**
 * Walks from root descriptors through manifests and indexes. `read` loads a JSON blob; a failure
 * is recorded (fsck reports it, GC keeps going with what it knows).
 */
export async function walk(roots: Iterable<Descriptor>, read: (d: Descriptor) => Promise<unknown>): Promise<Reachable> {
  const blobs = new Map<Sha256, Descriptor>();
  const errors: { digest: Sha256; error: unknown }[] = [];
  const queue = [...roots];
  while (queue.length) {
    const d = queue.pop()!;
    if (!isSha256(d.digest) || blobs.has(d.digest)) continue;
    blobs.set(d.digest, d);
    if (!hasChildren(d.mediaType)) continue;
    try {
      queue.push(...childrenOf(d.mediaType, await read(d)));
    } catch (error) {
      errors.push({ digest: d.digest, error });
    }
  }
  return { blobs, errors };
}
