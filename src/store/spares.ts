import { renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomHex, readdirQuiet } from '../util/index.js';

/**
 * Dirs kept in the store between commands for reuse, as `spare/<kind>.<random>`: on this host's
 * ext4 a new directory costs 0.15-0.7 ms and its removal 0.1-0.4, and a RUN's work dir (its mount
 * point, the overlay's work dir, the spare mount-point stubs) holds a dozen. A process takes one by
 * renaming it into tmp/ under its own pid, so one killed while it holds it leaves it to the sweep of
 * tmp/ (mounts and all), and gives it back by renaming it here (the dir is made 0700 with the
 * store's other private dirs, private.ts). At most MAX_SPARES of a kind are kept; `wharf prune`
 * removes them all. Nothing in them is ever part of an image.
 */
export const SPARE_DIR = 'spare';
const MAX_SPARES = 4;

/** A spare `kind` dir renamed to `dest` (absent; its parent exists), or false when there is none. */
export function takeSpare(root: string, kind: string, dest: string): boolean {
  const dir = join(root, SPARE_DIR);
  for (const name of readdirQuiet(dir)) {
    if (!name.startsWith(`${kind}.`)) continue;
    try {
      renameSync(join(dir, name), dest);
      return true;
    } catch {
      // another process took it first
    }
  }
  return false;
}

/** Keeps `path` as a spare `kind` dir; false when enough are kept (the caller removes it). */
export function keepSpare(root: string, kind: string, path: string): boolean {
  const dir = join(root, SPARE_DIR);
  if (readdirQuiet(dir).filter((n) => n.startsWith(`${kind}.`)).length >= MAX_SPARES) return false;
  try {
    renameSync(path, join(dir, `${kind}.${randomHex(6)}`));
    return true;
  } catch {
    return false;
  }
}

/** Removes every spare dir; returns how many. */
export async function removeSpares(root: string): Promise<number> {
  const dir = join(root, SPARE_DIR);
  const names = readdirQuiet(dir);
  await Promise.all(names.map((n) => rm(join(dir, n), { recursive: true, force: true })));
  return names.length;
}
