/**
 * snapshot: unpacked layer dirs keyed by chain ID (with diff_id records fsck checks), overlay
 * mounts of a chain with short lower-dir links, and dropping pure copy-ups from an upper dir.
 *
 *   const snaps = openSnapshots(root, blobs)
 *   const lowers = await snaps.prepare(layers)      lower dirs, top first; missing ones are unpacked
 *   const stubs = makeUpperStubs(lowers, upper)    /proc, /etc/hosts, … made in the upper dir, unmounted
 *   const m = await mountOverlay({ lowers, upper, target, linkDir: snaps.linkDir })
 *   stubs.remove()                                 after the run: what is still a stub goes
 *   await snaps.commitUpper(upper, parent, { compression })   the upper dir becomes the next layer
 *   const d = await directUpper(lowers, upper, dest, replaceFile)   an upper dir to write into unmounted;
 *   d.settle()                                     false: the result needs a real mount after all
 */
export { isMountPoint, mountOverlay, unmountReliably } from './overlay.js';
export { dropPureCopyUps } from './copy-ups.js';
export { makeUpperStubs, RUN_STUB_POINTS, type StubPoint, type UpperStubs } from './upper-stubs.js';
export type { CommitOptions, LayerRef, SnapshotProblem, SnapshotStore, StagedSnapshot, SyncPoint } from './types.js';
export { chainOf, openSnapshots } from './store.js';
export { directUpper, type DirectUpper } from './direct-upper.js';
