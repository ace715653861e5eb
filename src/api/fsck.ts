/**
 * `openStore(root).fsck()`: the store's own check (every referenced blob, and which unreferenced
 * blobs a GC hook keeps) and every snapshot against the diff_id of the layer it was unpacked from,
 * as `wharf fsck` reports them.
 */
import type { Sha256 } from '../hash/index.js';
import { loadImage } from '../image/index.js';
import { chainOf, openSnapshots, type LayerRef, type SnapshotProblem } from '../snapshot/index.js';
import { familiarName, type FsckReport, type Store } from '../store/index.js';

export interface FsckResult extends FsckReport {
  /** Snapshots that do not match their layer (or whose layer no image or container names). */
  readonly snapshotProblems: readonly SnapshotProblem[];
}

export async function fsckStore(store: Store, root: string): Promise<FsckResult> {
  const report = await store.fsck();
  return { ...report, snapshotProblems: await checkSnapshots(store, root) };
}

/** Snapshots checked against their blobs; the layers tagged images name are the expected ones. */
async function checkSnapshots(store: Store, root: string): Promise<SnapshotProblem[]> {
  const known = new Map<Sha256, LayerRef>();
  for (const t of await store.tags().catch(() => [])) {
    const img = await loadImage(store, familiarName(t.ref)).catch(() => undefined);
    if (!img) continue; // store.fsck reports it
    const chains = chainOf(img.config.rootfs.diff_ids);
    img.manifest.layers.forEach((descriptor, i) => chains[i] && known.set(chains[i]!, { descriptor, diffId: img.config.rootfs.diff_ids[i]! }));
  }
  // A container's image may be untagged by now: its snapshots are still what it runs on.
  // Loaded here: the container module brings ops and the planner (see open-store.ts).
  const { listRecords } = await import('../container/index.js');
  for (const c of listRecords(root)) {
    const chains = chainOf(c.imageConfig.rootfs.diff_ids);
    c.layers.forEach((descriptor, i) => chains[i] && known.set(chains[i]!, { descriptor, diffId: c.imageConfig.rootfs.diff_ids[i]! }));
  }
  return store.withLock(() => openSnapshots(root, store).fsck(known));
}
