import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { GcHook } from '../store/index.js';
import { containerDir, listRecords, orphanDirs } from './records.js';

/** A create in flight writes its record within moments: an older dir without one was killed first. */
const ORPHAN_AGE_MS = 10 * 60_000;

/**
 * GC roots: the image every container was made from, so prune keeps its blobs and snapshots until
 * `rm`. Collect: the dirs of creates killed before their record was written (nothing is mounted
 * or running there: a container is mounted only after its record exists).
 */
export function containersGcHook(root: string): GcHook {
  return {
    name: 'containers',
    roots: async () => listRecords(root).map((r) => r.imageManifest),
    // Returns bytes reclaimed, as hooks do: these dirs hold a temp record at most, counted as 0.
    collect: async () => {
      for (const id of orphanDirs(root)) {
        const dir = containerDir(root, id);
        const mtime = statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
        if (Date.now() - mtime < ORPHAN_AGE_MS) continue;
        await rm(dir, { recursive: true, force: true });
      }
      return 0;
    },
  };
}
