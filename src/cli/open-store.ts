import { copyLineageGcHook } from '../ops/copy-lineage.js';
import { FsBlobStore, openStore, type Store } from '../store/index.js';
import { openSnapshots } from '../snapshot/index.js';
import { openCache } from '../cache/index.js';

/**
 * The one place the CLI opens the store, so every command gets the same GC hooks: layer
 * snapshots (and incremental-COPY lineages) whose blob is gone are collected with it, and layers
 * the build cache records are kept.
 */
export function openCliStore(root: string): Promise<Store> {
  const blobs = new FsBlobStore(root);
  return openStore(root, { gcHooks: [openCache(root, blobs).gcHook(), openSnapshots(root, blobs).gcHook(), copyLineageGcHook(root, blobs)] });
}
