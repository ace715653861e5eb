import { FsBlobStore, openStore, type Store } from '../store/index.js';
import { openSnapshots } from '../snapshot/index.js';

/**
 * The one place the CLI opens the store, so every command gets the same GC hooks: layer
 * snapshots whose blob is gone are collected with it (the build cache adds its hook here).
 */
export function openCliStore(root: string): Promise<Store> {
  return openStore(root, { gcHooks: [openSnapshots(root, new FsBlobStore(root)).gcHook()] });
}
