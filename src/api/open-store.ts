import { join } from 'node:path';
import { reapDeadRuntimes } from './runtime-state.js';
import { FsBlobStore, openStore, type GcHook, type Store } from '../store/index.js';
import { openSnapshots } from '../snapshot/index.js';
import { openCache } from '../cache/index.js';
import { openWireRecords } from '../registry/index.js';

/**
 * The one place the CLI opens the store, so every command gets the same GC hooks: layer
 * snapshots (and incremental-COPY lineages) whose blob is gone are collected with it, and layers
 * the build cache records are kept, and so are the compressed copies push made of tagged layers
 * and the images working containers were made from.
 * It also repairs what a wharf killed mid-build left behind.
 */
export async function openApiStore(root: string): Promise<Store> {
  // Before the store's own sweep: containers a killed wharf left running still hold its mounts.
  await reapDeadRuntimes(join(root, 'tmp'));
  const blobs = new FsBlobStore(root);
  return openStore(root, { gcHooks: [openCache(root, blobs).gcHook(), openSnapshots(root, blobs).gcHook(), copyLineageHook(root, blobs), openWireRecords(root, blobs).gcHook(), containersHook(root)] });
}

/**
 * The working containers' hook, loaded when GC runs: src/container brings ops, the planner and
 * the runtime with it (for `commit --change` and `cp`), which `pull` and `push` never use.
 */
function containersHook(root: string): GcHook {
  const hook = async () => (await import('../container/index.js')).containersGcHook(root);
  return {
    name: 'containers',
    roots: async (warn) => (await hook()).roots!(warn),
    collect: async (live, warn) => (await hook()).collect!(live, warn),
  };
}

/**
 * The incremental-COPY lineage hook, loaded when GC runs: the ops module brings the build planner
 * with it (Dockerfile lexers compiled and all, ~10 ms), which commands like `pull` never use.
 */
function copyLineageHook(root: string, blobs: FsBlobStore): GcHook {
  return {
    name: 'copy-lineage',
    async collect(live, warn) {
      const { copyLineageGcHook } = await import('../ops/index.js');
      return copyLineageGcHook(root, blobs).collect!(live, warn);
    },
  };
}
