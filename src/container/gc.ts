import type { GcHook } from '../store/index.js';
import { listRecords } from './records.js';

/** GC roots: the image every container was made from, so prune keeps its blobs and snapshots until `rm`. */
export function containersGcHook(root: string): GcHook {
  return { name: 'containers', roots: async () => listRecords(root).map((r) => r.imageManifest) };
}
