import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../store/index.js';

/**
 * A build's RUN work dirs (tmp/<pid>.container.*), kept from one RUN to the next rather than made
 * and removed for each: what is around the upper dir (the mount point, the overlay's work dir, the
 * spare mount-point stubs) stays, and the next RUN only adds its upper dir. On this host's ext4 a
 * new directory costs 0.15-0.7 ms and its removal 0.1-0.4, a dozen of each per RUN. At the end they
 * are kept in the store for the next build (store/spares.ts), which starts with one ready.
 * (Made ahead on the thread pool for the first RUN, they only slowed the steps before it as much:
 * new inodes here are bound by the file system, not by who waits for them.)
 */
export interface WorkDirs {
  /** A work dir with no `upper` in it. */
  take(): Promise<string>;
  /** A work dir back, once its overlay is unmounted (not detached) and its upper dir moved away. */
  give(work: string): void;
  /** Keeps the work dirs given back in the store, or removes them; one given back later goes there and then. */
  close(): Promise<void>;
}

/** What a work dir holds. */
export function workLayout(work: string): { upper: string; rootfs: string; stubs: string } {
  return { upper: join(work, 'upper'), rootfs: join(work, 'rootfs'), stubs: join(work, 'stubs') };
}

export function keptWorkDirs(store: Pick<Store, 'tempDir' | 'takeSpare' | 'keepSpare'>): WorkDirs {
  const free: string[] = [];
  let closed = false;
  // Kept for the next command when the store takes it, else removed.
  const release = (work: string) => (store.keepSpare(KIND, work) ? undefined : rm(work, { recursive: true, force: true }));
  return {
    async take() {
      const mine = free.pop();
      if (mine) return mine;
      const spare = store.takeSpare(KIND);
      if (!spare) return store.tempDir(KIND);
      // Never kept with one; another process's, so made sure of.
      rmSync(workLayout(spare).upper, { recursive: true, force: true });
      return spare;
    },
    give(work) {
      if (closed) void release(work);
      else free.push(work);
    },
    async close() {
      closed = true;
      await Promise.all(free.splice(0).map(release));
    },
  };
}

const KIND = 'container';
