import { spawn } from 'node:child_process';
import { readdirSync, rmdirSync, type Stats } from 'node:fs';
import { lstatQuiet } from '../util/index.js';
import { join, posix } from 'node:path';
import type { Xattrs } from '../layer/index.js';

const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Where the runtime bind-mounts its generated files; their parents are copied up to hold the stubs. */
export const RUNTIME_MOUNT_POINTS = ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname'] as const;

/**
 * When the rootfs lacks a mount point such as /etc/hosts, the runtime creates it in the merged view,
 * so overlayfs copies its parent (/etc) up into the upper dir; the runtime module then removes the
 * empty stub and restores the parent's times. What is left is a directory identical to the lower
 * one, which would still show up as an `etc/` entry in every RUN layer. This removes such pure
 * copy-ups, after unmount: a directory of the upper dir that is empty, not opaque, and whose mode,
 * owner and mtime equal those of the directory the lowers show at that path.
 * Only the ancestors of `mountPoints` are looked at, so a directory the step really touched is
 * never a candidate unless it is indistinguishable from the lower one.
 */
export async function dropPureCopyUps(
  upper: string, lowers: readonly string[], mountPoints: readonly string[] = RUNTIME_MOUNT_POINTS,
  /** The upper dir's xattrs when already read (readTreeXattrs): no getfattr per candidate then. */
  xattrs?: ReadonlyMap<string, Xattrs>,
): Promise<string[]> {
  const candidates = new Set<string>();
  for (const m of mountPoints) {
    const parts = posix.normalize(m).split('/').filter(Boolean);
    for (let i = parts.length - 1; i >= 1; i--) candidates.add(parts.slice(0, i).join('/'));
  }
  const dropped: string[] = [];
  // Deepest first, so a parent can go once its only child went.
  for (const rel of [...candidates].sort((a, b) => b.split('/').length - a.split('/').length)) {
    const path = join(upper, rel);
    // Synchronous: one or two lookups, where a thread-pool round trip waits behind the RUN's
    // umount and its sync (0.5-0.9 ms a RUN).
    const st = lstatQuiet(path);
    if (!st?.isDirectory() || readdirSync(path).length > 0) continue;
    const below = lowerDir(lowers, rel);
    if (!below || !sameMetadata(st, below)) continue;
    if (xattrs ? xattrs.get(rel)?.get(OPAQUE_XATTR)?.toString() === 'y' : await isOpaque(path)) continue;
    rmdirSync(path);
    dropped.push(rel);
  }
  return dropped;
}

/**
 * The directory the merged view shows at `rel` beneath the upper dir: the topmost lower that has it.
 * Synchronous: /etc is usually only in the bottom layer, so a RUN on 100 layers asked 99 lowers in
 * vain, one thread-pool round trip each (~3 ms).
 */
function lowerDir(lowers: readonly string[], rel: string): Stats | undefined {
  for (const lower of lowers) {
    const st = lstatQuiet(join(lower, rel));
    if (st) return st.isDirectory() ? st : undefined;
  }
  return undefined;
}

function sameMetadata(a: Stats, b: Stats): boolean {
  // Times restored through utimes carry microseconds; allow for the float round trip.
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && Math.abs(a.mtimeMs - b.mtimeMs) < 0.002;
}

/** Whether overlayfs marked `dir` opaque; unknown (no getfattr) counts as opaque, to keep the dir. */
function isOpaque(dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    let out = '';
    const c = spawn('getfattr', ['--absolute-names', '--only-values', '-n', OPAQUE_XATTR, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('error', () => resolve(true));
    c.on('close', (code) => resolve(code === 0 ? out === 'y' : !/No such attribute/i.test(stderr)));
  });
}
