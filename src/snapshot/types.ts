import type { Sha256 } from '../hash/index.js';
import type { Compression, LayerResult, TarReuse, Xattrs } from '../layer/index.js';
import type { Descriptor, GcHook } from '../store/index.js';

/**
 * Unpacked layers in overlay form (char 0/0 whiteouts, opaque xattrs), one directory per chain ID
 * under `<root>/snapshots/`, shared by every image that contains the same layer stack. A snapshot
 * appears by rename of a finished temp dir, so a crash never leaves half a snapshot under its name.
 *
 *   snapshots/<chain hex>/fs      the layer's files (an overlay lower dir)
 *   snapshots/<chain hex>/blob    the layer blob's digest, for GC
 *   snapshots/<chain hex>/layer   JSON {diffId, parent}: what the chain ID was computed from, so
 *                                 fsck can check the name against the blob (verify.ts)
 *   snapshots/l/<name>            short links to the fs dirs for overlay mounts (overlay.ts)
 *   snapshots/synced/<boot id>    when the last syncfs of that boot started (durable.ts)
 */
export interface LayerRef {
  readonly descriptor: Descriptor;
  readonly diffId: Sha256;
}

/** A snapshot being unpacked into a private dir (SnapshotStore.stage). */
export interface StagedSnapshot {
  /** Where the layer's files go (overlay form). */
  readonly fs: string;
  install(): Promise<void>;
  discard(): Promise<void>;
}

/** What fsck found wrong with one snapshot (verify.ts). */
export interface SnapshotProblem {
  readonly chain: string;
  readonly message: string;
}

/** How commitUpper writes the layer. */
export interface CommitOptions {
  readonly compression: Compression;
  readonly sourceDateEpoch?: number;
  /** The upper dir's extended attributes, when the caller has read them already. */
  readonly xattrs?: ReadonlyMap<string, Xattrs>;
  /** Ties the tar to an earlier layer the upper was hard-linked from (see TarReuse). */
  readonly reuse?: TarReuse;
  /**
   * Every file of the upper dir was written before this point (a RUN's, whose umount syncs
   * them): the snapshot counts as made then, and is durable once `synced(point)` is called.
   */
  readonly writtenBefore?: SyncPoint;
}

/** When a sync of the snapshots' file system started (SnapshotStore.syncPoint). */
export interface SyncPoint {
  /** Date.now() when taken, minus 1: everything installed in that millisecond or later is after it. */
  readonly at: number;
}

export interface SnapshotStore {
  /** Where overlay mounts keep the short links of these lower dirs (OverlayOptions.linkDir). */
  readonly linkDir: string;
  /** Lower dirs for a layer stack, top (last layer) first; missing ones are unpacked and kept. */
  prepare(layers: readonly LayerRef[]): Promise<string[]>;
  /**
   * A private temp dir for the top layer of `layers` to be unpacked into by the caller (a pull
   * unpacking a layer while it downloads and verifies it), or undefined when that snapshot exists.
   * Nothing is visible until `install()`, which the caller runs only once the layer's digest, size
   * and diff_id have all been checked; `discard()` removes the dir (safe after install too).
   */
  stage(layers: readonly LayerRef[]): Promise<StagedSnapshot | undefined>;
  /**
   * A fresh upper dir (absent; its parent exists) in a private temp dir of the snapshot store:
   * commitUpper makes that temp dir the snapshot as it is, with no dir of its own to make and no
   * rename of the upper. `discard()` removes it when it is not committed (a no-op once it is).
   */
  upperDir(): Promise<{ readonly path: string; discard(): Promise<void> }>;
  /**
   * Writes an overlay upper dir as a layer on top of `parent` and moves the dir into place as the
   * new layer's snapshot (not a copy). The upper dir is gone afterwards either way. `reuse` ties
   * the tar to an earlier layer the upper was hard-linked from (see TarReuse).
   */
  commitUpper(upper: string, parent: readonly LayerRef[], opts: CommitOptions): Promise<LayerResult>;
  /**
   * A syncfs of the file system `path` is on starts now (an overlay's umount syncs its upper dir's
   * file system): undefined when that is not the snapshots' file system. Pass the point to
   * `synced` once that sync has completed; see durable.ts.
   */
  syncPoint(path: string): SyncPoint | undefined;
  /** The sync begun at `point` completed: everything written before it is on disk. */
  synced(point: SyncPoint): void;
  /**
   * Removes the snapshots made of these layer blobs (whatever stack they sit on), so a build that
   * runs those steps again commits its upper dir into place as a first build does. Nothing may be
   * using them at the time; `prepare` unpacks them again when an image needs them.
   */
  removeLayers(blobs: ReadonlySet<Sha256>): Promise<number>;
  /** A GC hook: removes snapshots whose layer blob is no longer in the store. */
  gcHook(): GcHook;
  /**
   * Checks that every snapshot is what its name says: its blob's uncompressed tar hashes to the
   * recorded diff_id and the chain ID of (parent, diff_id) is its name. `known` gives the
   * expected layer of chains images name, for snapshots made before the record existed.
   */
  fsck(known?: ReadonlyMap<Sha256, LayerRef>): Promise<SnapshotProblem[]>;
  /**
   * Makes the snapshots this store installed durable: one syncfs of their file system (durable.ts),
   * unless a sync already covers them all (`synced`). A build calls it once at its end, in the
   * `background` (nobody waits for the sync); never rejects.
   */
  flush(opts?: { readonly background?: boolean }): Promise<void>;
}
