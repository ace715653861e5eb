import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { nativeAddon, UserError } from '../util/index.js';
import { constants } from 'node:os';

const { EBUSY, EINVAL, ENOENT } = constants.errno;

/**
 * overlayfs mounts for RUN steps: the parent chain's layer dirs as read-only lowers, a fresh upper
 * dir that afterwards *is* the new layer, and a work dir the kernel needs beside it.
 *
 * The mount option string is limited to one page (4096 bytes), which long absolute paths of 100+
 * layers overflow. As Docker's overlay2 driver does with its `l/` dir, every dir is linked under
 * a short name in a links dir and `mount` runs as a child process whose cwd is that dir, with
 * relative paths — chdir in-process would race with everything else Node does.
 */
export interface OverlayOptions {
  /** Lower dirs, top (newest layer) first. Empty means an empty base (FROM scratch). */
  readonly lowers: readonly string[];
  /** The upper dir (created if missing); it receives every change and is kept by unmount. */
  readonly upper: string;
  /** The mount point (created if missing); removed by unmount. */
  readonly target: string;
}

export interface OverlayMount {
  readonly target: string;
  readonly upper: string;
  /** Unmounts (lazily if still busy) and removes the work dir, links dir and mount point. Idempotent. */
  unmount(): Promise<void>;
}

/** Page size minus room for the NUL; the kernel rejects longer option strings. */
const MAX_OPTIONS = 4095;

/**
 * `redirect_dir=off`, `metacopy=off`: a renamed lower dir or a chmod-only change must be a full
 * copy-up in the upper dir, or the upper dir is no longer a self-contained layer diff.
 * `index=off`: lower dirs are shared by many mounts with different uppers.
 */
const FIXED_OPTIONS = 'index=off,redirect_dir=off,metacopy=off';

export async function mountOverlay(opts: OverlayOptions): Promise<OverlayMount> {
  const target = resolve(opts.target);
  const upper = resolve(opts.upper);
  const scratch = join(dirname(target), `.overlay-${randomBytes(6).toString('hex')}`);
  const work = join(scratch, 'work');
  const links = join(scratch, 'l');
  // The dirs and links are made synchronously: each is microseconds of local metadata work, less
  // than a thread-pool round trip (mount + unmount took 20-25 ms of every step of a 100-layer
  // stage, while the mount and umount programs themselves take ~5 ms together).
  mkdirSync(upper, { recursive: true });
  mkdirSync(target, { recursive: true });
  mkdirSync(work, { recursive: true });
  mkdirSync(links);
  try {
    const names: string[] = [];
    if (opts.lowers.length === 0) {
      mkdirSync(join(links, 'empty'));
      names.push('empty');
    }
    for (const [i, lower] of opts.lowers.entries()) {
      const name = i.toString(36); // lower case only, so never U or W below
      symlinkSync(resolve(lower), join(links, name));
      names.push(name);
    }
    symlinkSync(upper, join(links, 'U'));
    symlinkSync(work, join(links, 'W'));
    const options = `lowerdir=${names.join(':')},upperdir=U,workdir=W,${FIXED_OPTIONS}`;
    if (options.length > MAX_OPTIONS) {
      throw new UserError('snapshot.too-many-layers', `an image of ${opts.lowers.length} layers is too deep to mount`,
        'squash some layers of the base image');
    }
    const failed = await mountIn(links, options, target);
    if (failed !== undefined) {
      throw new UserError('snapshot.mount-failed', `cannot mount overlay on ${target}: ${failed}`,
        'wharf needs root and a kernel with overlayfs');
    }
  } catch (e) {
    await rm(scratch, { recursive: true, force: true });
    await rm(target, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }

  let unmounted: Promise<void> | undefined;
  return {
    target,
    upper,
    unmount: () => (unmounted ??= (async () => {
      await unmountReliably(target);
      rmSync(scratch, { recursive: true, force: true });
      rmSync(target, { recursive: true, force: true });
    })()),
  };
}

/**
 * Unmounts `target`; a mount still busy (a straggling process holding a file) is retried briefly and
 * then detached lazily, so a build never leaves a mount behind in /proc/mounts.
 */
export async function unmountReliably(target: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    if ((await umountOnce(target, false)) !== 'busy') return;
    await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
  }
  const lazy = await umountOnce(target, true);
  if (lazy === 'busy') throw new UserError('snapshot.unmount-failed', `cannot unmount ${target}: still busy after a lazy unmount`);
}

/**
 * One umount through the addon when there is one (umount2: EINVAL means nothing is mounted there),
 * else the umount program: 'done' when nothing is mounted at `target` any more.
 */
async function umountOnce(target: string, detach: boolean): Promise<'done' | 'busy'> {
  const native = nativeAddon();
  if (!native) {
    if (!(await isMountPoint(target))) return 'done';
    const res = await exec('umount', detach ? ['-l', target] : [target]);
    if (res.code === 0 || !(await isMountPoint(target))) return 'done';
    if (detach) throw new UserError('snapshot.unmount-failed', `cannot unmount ${target}: ${res.stderr.trim()}`);
    return 'busy';
  }
  try {
    native.umount(target, detach);
    return 'done';
  } catch (e) {
    const errno = (e as { errno?: number }).errno;
    if (errno === EINVAL || errno === ENOENT) return 'done';
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

/** Whether `path` is a mount point, from /proc/self/mountinfo (octal escapes decoded). */
export async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const want = resolve(path);
  return info.split('\n').some((line) => {
    const field = line.split(' ')[4];
    return field !== undefined && field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) === want;
  });
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
