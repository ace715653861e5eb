import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { mountPoints, nativeAddon, randomHex, readdirQuiet, sha256HexOf, UserError } from '../util/index.js';
import { constants } from 'node:os';

const { EBUSY, EINVAL, ENOENT } = constants.errno;

/**
 * overlayfs mounts for RUN steps: the parent chain's layer dirs as read-only lowers, a fresh upper
 * dir that afterwards *is* the new layer, and a work dir the kernel needs beside it.
 *
 * The mount option string is limited to one page (4096 bytes), which long absolute paths of 100+
 * layers overflow. As Docker's overlay2 driver does with its `l/` dir, every lower dir is linked
 * under a short name in a links dir and mount(2) runs with that dir as its cwd, with relative
 * paths: on a thread of its own that unshares its cwd (the addon), or as the `mount` program
 * started there — chdir in-process would race with everything else Node does.
 */
export interface OverlayOptions {
  /** Lower dirs, top (newest layer) first. Empty means an empty base (FROM scratch). */
  readonly lowers: readonly string[];
  /**
   * The upper dir (created if missing); it receives every change and is kept by unmount. Without
   * one the mount is a read-only view of the lowers: nothing to copy up, and its umount has no
   * upper file system to sync (an overlay's umount syncs its upper dir's whole file system, every
   * other writer's dirty pages included: milliseconds per read of another stage).
   */
  readonly upper?: string;
  /** The mount point (created if missing); removed by unmount. */
  readonly target: string;
  /**
   * A dir kept across mounts (the snapshot store's) where each lower dir gets its short link once,
   * as in Docker's overlay2 `l/` dir, rather than per mount: every link is a new inode, and on a
   * 100-layer stage making and removing them was most of what a mount cost (~25 ms per RUN).
   */
  readonly linkDir?: string;
  /**
   * The mount point and the overlay's work dir (`.overlay` beside the mount point) stay after
   * unmount, for the caller's next mount there: a new directory costs 0.15-0.7 ms on this host's
   * ext4. Only after an unmount that resolved true: a lazily detached overlay may still use them.
   */
  readonly keepDirs?: boolean;
}

export interface OverlayMount {
  readonly target: string;
  /**
   * Unmounts (lazily if still busy) and removes the work dir, links dir and mount point. Idempotent.
   * True when the mount went away there and then (not lazily): with an upper dir, its umount
   * synced that dir's file system.
   */
  unmount(): Promise<boolean>;
}

/** The work dir's parent beside a mount point whose dirs are kept (OverlayOptions.keepDirs). */
const KEPT_SCRATCH = '.overlay';

/** Page size minus room for the NUL; the kernel rejects longer option strings. */
const MAX_OPTIONS = 4095;

/**
 * `redirect_dir=off`, `metacopy=off`: a renamed lower dir or a chmod-only change must be a full
 * copy-up in the upper dir, or the upper dir is no longer a self-contained layer diff.
 * `index=off`: lower dirs are shared by many mounts with different uppers.
 */
const FIXED_OPTIONS = 'index=off,redirect_dir=off,metacopy=off';

/** What mount(2) is given: option string and the dir its relative paths start from. */
interface MountPlan {
  readonly cwd: string;
  readonly options: string;
}

export async function mountOverlay(opts: OverlayOptions): Promise<OverlayMount> {
  const target = resolve(opts.target);
  const scratch = join(dirname(target), opts.keepDirs ? KEPT_SCRATCH : `.overlay-${randomHex(6)}`);
  const rw = opts.upper !== undefined ? { upper: resolve(opts.upper), work: join(scratch, 'work') } : undefined;
  // The dirs and links are made synchronously: each is microseconds of local metadata work, less
  // than a thread-pool round trip.
  if (rw) mkdirSync(rw.upper, { recursive: true });
  mkdirSync(target, { recursive: true });
  mkdirSync(rw?.work ?? scratch, { recursive: true });
  try {
    const plan = (opts.linkDir && (rw || opts.lowers.length > 1) && sharedLinks(opts.linkDir, opts.lowers, rw)) || ownLinks(scratch, opts.lowers, rw);
    if (plan.options.length > MAX_OPTIONS) {
      throw new UserError('snapshot.too-many-layers', `an image of ${opts.lowers.length} layers is too deep to mount`,
        'squash some layers of the base image');
    }
    const failed = await mountIn(plan.cwd, plan.options, target);
    if (failed !== undefined) {
      throw new UserError('snapshot.mount-failed', `cannot mount overlay on ${target}: ${failed}`,
        'wharf needs root and a kernel with overlayfs');
    }
  } catch (e) {
    await rm(scratch, { recursive: true, force: true });
    await rm(target, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }

  let unmounted: Promise<boolean> | undefined;
  return {
    target,
    unmount: () => (unmounted ??= (async () => {
      const how = await unmountReliably(target);
      if (opts.keepDirs && how === 'unmounted') {
        rmSync(join(scratch, 'l'), { recursive: true, force: true }); // ownLinks'
      } else {
        rmSync(scratch, { recursive: true, force: true });
        rmSync(target, { recursive: true, force: true });
      }
      return how === 'unmounted';
    })()),
  };
}

/** Upper and work dir of a writable mount. */
interface Writable {
  readonly upper: string;
  readonly work: string;
}

/**
 * Links in a dir of this mount's own (`<scratch>/l`): lowers named 0, 1, … and the upper and work
 * dirs U and W, so any path works. Removed with the scratch dir at unmount.
 */
function ownLinks(scratch: string, lowers: readonly string[], rw: Writable | undefined): MountPlan {
  const links = join(scratch, 'l');
  mkdirSync(links);
  const names: string[] = [];
  for (const [i, lower] of lowers.entries()) {
    const name = i.toString(36); // lower case only, so never U or W below
    symlinkSync(resolve(lower), join(links, name));
    names.push(name);
  }
  // FROM scratch has no lowers; read-only, the kernel wants two at least.
  for (let i = 0; names.length < (rw ? 1 : 2); i++) {
    mkdirSync(join(links, `empty${i}`));
    names.push(`empty${i}`);
  }
  if (!rw) return { cwd: links, options: `lowerdir=${names.join(':')},${FIXED_OPTIONS}` };
  symlinkSync(rw.upper, join(links, 'U'));
  symlinkSync(rw.work, join(links, 'W'));
  return { cwd: links, options: `lowerdir=${names.join(':')},upperdir=U,workdir=W,${FIXED_OPTIONS}` };
}

/**
 * Links kept in `linkDir` across mounts and processes: a lower's link is named after a hash of its
 * path relative to linkDir and points there (relative, so a moved store still works), made the
 * first time a mount needs it. Upper and work dirs are given relative to linkDir. Undefined when
 * that cannot be done safely (a name taken by another path, a path with a character the option
 * string treats as a separator): the caller then makes links of its own.
 */
function sharedLinks(linkDir: string, lowers: readonly string[], rw: Writable | undefined): MountPlan | undefined {
  if (lowers.length === 0) return undefined;
  const dir = resolve(linkDir);
  const rel = (p: string) => relative(dir, resolve(p));
  const upperRel = rw ? rel(rw.upper) : '';
  const workRel = rw ? rel(rw.work) : '';
  if (OPTION_SEPARATORS.test(upperRel) || OPTION_SEPARATORS.test(workRel)) return undefined;
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  for (const lower of lowers) {
    const to = rel(lower);
    const name = linkName(to);
    if (OPTION_SEPARATORS.test(to) || !ensureLink(join(dir, name), to)) return undefined;
    names.push(name);
  }
  const upperOptions = rw ? `upperdir=${upperRel},workdir=${workRel},` : '';
  return { cwd: dir, options: `lowerdir=${names.join(':')},${upperOptions}${FIXED_OPTIONS}` };
}

/** `,` separates mount options, `:` lower dirs, a backslash escapes; `=` is fine inside a value. */
const OPTION_SEPARATORS = /[,:\\\n]/;

/** 11 base-36 characters (56 bits of sha256) of the link target: short, and one name per path. */
export function linkName(to: string): string {
  return BigInt(`0x${sha256HexOf(to).slice(0, 14)}`).toString(36).padStart(11, '0');
}

/** Makes `link` point at `to` if it does not yet; false if the name is taken by another target. */
function ensureLink(link: string, to: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return readlinkSync(link) === to;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    }
    try {
      symlinkSync(to, link);
      return true;
    } catch (e) {
      // Another process made it first: read what it made.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false;
    }
  }
  return false;
}

/** Removes links in `linkDir` whose target is gone (their snapshot was collected); returns how many. */
export function pruneLinks(linkDir: string): number {
  let n = 0;
  for (const name of readdirQuiet(linkDir)) {
    const link = join(linkDir, name);
    if (existsSync(link)) continue; // follows the link: false when it dangles
    rmSync(link, { force: true });
    n++;
  }
  return n;
}

/**
 * Unmounts `target`; a mount still busy (a straggling process holding a file) is retried briefly and
 * then detached lazily, so a build never leaves a mount behind in /proc/mounts. Says which it was
 * ('absent': nothing was mounted there).
 */
export async function unmountReliably(target: string): Promise<'unmounted' | 'detached' | 'absent'> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const how = await umountOnce(target, false);
    if (how !== 'busy') return how;
    await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
  }
  const lazy = await umountOnce(target, true);
  if (lazy === 'busy') throw new UserError('snapshot.unmount-failed', `cannot unmount ${target}: still busy after a lazy unmount`);
  return lazy === 'absent' ? 'absent' : 'detached';
}

/**
 * One umount through the addon when there is one (umount2: EINVAL means nothing is mounted there),
 * else the umount program.
 */
async function umountOnce(target: string, detach: boolean): Promise<'unmounted' | 'absent' | 'busy'> {
  const native = nativeAddon();
  if (!native) {
    if (!(await isMountPoint(target))) return 'absent';
    const res = await exec('umount', detach ? ['-l', target] : [target]);
    if (res.code === 0) return 'unmounted';
    if (!(await isMountPoint(target))) return 'absent';
    if (detach) throw new UserError('snapshot.unmount-failed', `cannot unmount ${target}: ${res.stderr.trim()}`);
    return 'busy';
  }
  try {
    // On the thread pool: an overlay's umount syncs its upper file system, and the caller may
    // have other work meanwhile (container.ts commits the upper dir).
    if (native.umountAsync) await native.umountAsync(target, detach);
    else native.umount(target, detach);
    return 'unmounted';
  } catch (e) {
    const errno = (e as { errno?: number }).errno;
    if (errno === EINVAL || errno === ENOENT) return 'absent';
    if (errno === EBUSY) return 'busy';
    throw new UserError('snapshot.unmount-failed', `cannot unmount ${target}: ${(e as Error).message}`);
  }
}

/** mount(2) through the addon when there is one, else the mount program; the error text, if it failed. */
async function mountIn(cwd: string, options: string, target: string): Promise<string | undefined> {
  const native = nativeAddon();
  if (!native) {
    const res = await exec('mount', ['-t', 'overlay', 'overlay', '-o', options, target], cwd);
    return res.code === 0 ? undefined : res.stderr.trim();
  }
  try {
    native.mountOverlay(cwd, options, target);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Whether `path` is a mount point, from /proc/self/mountinfo. */
export async function isMountPoint(path: string): Promise<boolean> {
  return mountPoints().includes(resolve(path));
}

function exec(cmd: string, args: string[], cwd?: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const c = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => resolvePromise({ code: code ?? 1, stderr }));
  });
}
