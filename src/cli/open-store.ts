import { openStore, type Store } from '../store/index.js';

/**
 * The one place the CLI opens the store, so every command gets the same GC hooks (snapshots and
 * the build cache add theirs here as they arrive).
 */
export function openCliStore(root: string): Promise<Store> {
  return openStore(root, { gcHooks: [] });
}
