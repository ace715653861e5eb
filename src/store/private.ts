import { chmodSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { detachMount, mountPoints, mountsUnder, readdirQuiet } from '../util/index.js';
import { pidAlive } from './lock.js';
import { SPARE_DIR } from './spares.js';

/**
 * The store is closed to other local users, as Docker closes /var/lib/docker (0710 since the fix
 * for CVE-2021-41091): a RUN step can leave a setuid-root binary or a device node in a snapshot,
 * and anyone who can reach `<root>/snapshots/…` could run or open it. The root is 0710 and the
 * dirs holding image files, in-flight work and build state are 0700; only blobs/ and the layout
 * files keep their modes (nobody but the owner gets past the root anyway).
 *
 * Containers never see these modes: runc pivot_roots into the overlay, and overlayfs reaches its
 * lower and upper dirs with the mounter's (root's) credentials.
 */
export const ROOT_MODE = 0o710;
export const PRIVATE_MODE = 0o700;
export const PRIVATE_DIRS = ['snapshots', 'tmp', 'cache', 'cache-mounts', 'context', SPARE_DIR] as const;

/**
 * Creates the root and its private dirs with those modes, and tightens them where an older wharf
 * made them 0755. Only bits are taken away, never added; a dir we do not own is left as it is.
 */
export function closeStore(root: string): void {
  mkdirSync(root, { recursive: true, mode: ROOT_MODE });
  tighten(root, ROOT_MODE);
  for (const name of PRIVATE_DIRS) {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true, mode: PRIVATE_MODE });
    tighten(dir, PRIVATE_MODE);
  }
}

function tighten(dir: string, allowed: number): void {
  const mode = statSync(dir).mode & 0o7777;
  if ((mode & ~allowed) === 0) return;
  try {
    chmodSync(dir, mode & allowed);
  } catch {
    // not ours (EPERM): whoever owns it decides
  }
}

/** The owner pid of a tmp/ entry (`<pid>.<what>.<random>`), or undefined for a foreign name. */
export function tempOwner(name: string): number | undefined {
  const pid = Number(name.split('.')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Removes tmp/ entries of processes that are gone; returns how many. A process killed with -9
 * leaves its overlay mounts (a RUN's or a COPY's rootfs) in there, which would make the removal
 * fail with EBUSY for every later command: they are detached first (lazily, so a container the
 * dead process left running cannot keep them). An entry that still cannot be removed is left for
 * the next sweep rather than failing the command that opened the store.
 */
export async function sweepDeadTemp(tmpDir: string): Promise<number> {
  const dead = readdirQuiet(tmpDir).filter((name) => {
    const pid = tempOwner(name);
    return pid === undefined || !pidAlive(pid);
  });
  if (!dead.length) return 0;
  const points = mountPoints();
  const real = realPath(tmpDir);
  let n = 0;
  for (const name of dead) {
    for (const m of mountsUnder(join(real, name), points)) detachMount(m);
    try {
      await rm(join(tmpDir, name), { recursive: true, force: true });
      n++;
    } catch {
      // still busy (a mount we may not detach): the next command tries again
    }
  }
  return n;
}

function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
