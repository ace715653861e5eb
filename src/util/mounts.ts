import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { nativeAddon } from './native.js';

/**
 * Mount points as this process sees them, and a lazy detach for the ones a killed wharf left
 * behind (kill -9 skips every unmount; the mounts then make each later rmdir of their dirs EBUSY).
 */

/** The mount points in /proc/self/mountinfo (octal escapes decoded), in the order listed. */
export function mountPoints(): string[] {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of info.split('\n')) {
    const field = line.split(' ')[4];
    if (field !== undefined) out.push(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** Mount points at or below `dir` (an absolute, symlink-free path), deepest first. */
export function mountsUnder(dir: string, points: readonly string[] = mountPoints()): string[] {
  const base = resolve(dir);
  return points.filter((p) => p === base || p.startsWith(base + '/')).sort((a, b) => b.length - a.length);
}

/**
 * umount2(MNT_DETACH): the mount leaves the tree at once even while something still holds a file
 * in it (a container of the dead process); the kernel frees it when the last user goes. False if
 * it could not be detached (not root, already gone).
 */
export function detachMount(target: string): boolean {
  const native = nativeAddon();
  if (native) {
    try {
      native.umount(target, true);
      return true;
    } catch {
      return false;
    }
  }
  return spawnSync('umount', ['-l', target], { stdio: 'ignore' }).status === 0;
}
