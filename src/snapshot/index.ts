export { isMountPoint, mountOverlay, unmountReliably } from './overlay.js';
export type { OverlayMount, OverlayOptions } from './overlay.js';
export { dropPureCopyUps, RUNTIME_MOUNT_POINTS } from './copy-ups.js';
export { chainOf, openSnapshots } from './store.js';
export type { LayerRef, SnapshotProblem, SnapshotStore } from './store.js';
