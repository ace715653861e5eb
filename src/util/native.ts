import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
/**
 * The optional native addon (native/wharf_native.c): mount, umount and xattr reads as system
 * calls rather than child processes. The CLI says where it is (setNativeAddon); it is loaded on
 * first use, and when it is absent or fails to load every caller runs the programs instead.
 */
export interface NativeAddon {
  /** mount(2) of an overlay whose option string names dirs relative to `cwd`. Throws an Error with `errno`. */
  mountOverlay(cwd: string, options: string, target: string): void;
  /** umount2(2); `detach` is MNT_DETACH. Throws an Error with `errno` (EINVAL: not a mount point). */
  umount(target: string, detach: boolean): void;
  /** umount2(2) on the thread pool; rejects with an Error with `errno` (absent from an addon built before it). */
  umountAsync?(target: string, detach: boolean): Promise<void>;
  /** Every attribute under `dir`, without following symlinks: rel ('' for dir), name, value, … */
  readTreeXattrs(dir: string): (string | Buffer)[];
  /** One path's attributes, not following a symlink: name, value, … (absent from an addon built before it). */
  readFileXattrs?(path: string): (string | Buffer)[];
  /**
   * One directory's entries in bytewise name order: their paths (`prefix` + name), DIR_STAT_FIELDS
   * numbers each (st_mode, uid, gid, size, mtime in whole ms) and a stat signature each; paths and
   * signatures come joined by NUL. null when the directory is gone. A name that vanished before
   * its lstat is left out (count entries by `stats.length`). Throws an Error with `errno` and
   * `code` (e.g. 'EACCES').
   */
  readDirStats(dir: string, prefix: string): DirStats | null;
  /**
   * As readDirStats for a layer tar: names without a prefix, TAR_STAT_FIELDS numbers each (see
   * src/layer/entry-stat.ts), no signatures (''). Throws EILSEQ for a name that is not UTF-8.
   */
  readDirEntries(dir: string): DirStats | null;
  /** A sha256 whose updates run on the thread pool, or null without OpenSSL in the process. */
  sha256Create?(): unknown;
  /** Hashes the chunk on the thread pool; the next update must wait for the promise. */
  sha256Update(hasher: unknown, chunk: Uint8Array): Promise<void>;
  /** The digest in lowercase hex; the hasher is finished. */
  sha256Digest(hasher: unknown): string;
  /** Hashes the chunk (a string as UTF-8) on this thread, between or instead of sha256Update (absent from an addon built before it). */
  sha256UpdateSync?(hasher: unknown, chunk: Uint8Array | string): void;
  /** The sha256 of the bytes (a string as UTF-8) in lowercase hex; null without OpenSSL in the process (absent from an addon built before it). */
  sha256Hex?(data: Uint8Array | string): string | null;
  /** `bytes` (1-64) bytes from getrandom(2) as lowercase hex (absent from an addon built before it). */
  randomHex?(bytes: number): string;
  /**
   * The regular file mapped read-only: an external latin1 string (`asString`) or a Buffer; null
   * when empty, not a regular file, or without external strings in this Node. Throws an Error with
   * `errno` when it cannot be opened (absent from an addon built before it).
   */
  mapFile?(path: string, asString: boolean): string | Buffer | null;
  /** Notes the O_NONBLOCK flag and terminal modes of fds 0-2, for exitNow to put back (absent from an addon built before it). */
  saveStdio?(): boolean;
  /**
   * Puts fds 0-2 back as saveStdio found them and ends the process with _exit(2), skipping the rest
   * of Node's teardown; false, doing nothing, when saveStdio was not called (absent from an addon built before it).
   */
  exitNow?(code: number): boolean;
  /**
   * A descriptor (close-on-exec) of a new network namespace, made by a short-lived thread (absent
   * from an addon built before it). Throws an Error with `errno` (EPERM without CAP_SYS_ADMIN).
   */
  newNetNamespace?(): number;
  /**
   * Starts `argv` (looked up on PATH) through posix_spawn, in a session of its own, with /dev/null
   * as stdio, no other descriptor, default signals; a thread of the addon reaps it. Returns its pid
   * (absent from an addon built before it). Throws an Error with `errno`.
   */
  spawnDetached?(argv: readonly string[]): number;
  /**
   * Starts `argv` (looked up on PATH) in `cwd` through posix_spawn, with pipes as stdin and stdout,
   * /dev/null as stderr, no other descriptor, default signals, in this process's session. Returns
   * [pid, our end of its stdin, our end of its stdout]; reapChild reaps it (absent from an addon
   * built before it). Throws an Error with `errno`.
   */
  spawnPiped?(argv: readonly string[], cwd: string): [pid: number, stdin: number, stdout: number];
  /** waitpid(pid, WNOHANG): undefined while it runs, else [exit code or -1, signal number or 0]. */
  reapChild?(pid: number): [code: number, signal: number] | undefined;
  /** `size` bytes, not zeroed, starting on a page boundary, for O_DIRECT (absent from an addon built before it). */
  alignedBuffer?(size: number): Buffer;
}

export type DirStats = [paths: string, stats: Float64Array, sigs: string];

/**
 * O_DIRECT offsets and lengths are multiples of this: the largest logical block size disks have,
 * and the alignment of alignedBuffer's memory (store/direct-write.ts, layer/direct-read.ts).
 */
export const DIRECT_IO_BLOCK = 4096;

/** Numbers per entry in readDirStats' stats. */
export const DIR_STAT_FIELDS = 5;

let load: (() => NativeAddon) | undefined;
let loaded: NativeAddon | null | undefined;

/** Wired by the CLI: how to load the addon (e.g. createRequire(...)(path)). */
export function setNativeAddon(loader: (() => NativeAddon) | undefined): void {
  load = loader;
  loaded = undefined;
}

/** The addon, or undefined when there is none (then use the programs). */
export function nativeAddon(): NativeAddon | undefined {
  if (loaded === undefined) {
    try {
      loaded = load ? load() : null;
    } catch {
      loaded = null; // not built on this machine: the programs do the same
    }
  }
  return loaded ?? undefined;
}

let launcher: string | undefined;

/**
 * Wired by the CLI beside the addon: the path of dist/native/wharf-launch (native/wharf_launch.c),
 * which starts crun in a mount namespace of its own; undefined: unshare(1) and sh do the same.
 */
export function setNativeLauncher(path: string | undefined): void {
  launcher = path;
}

/** The launcher program, when the build made one. */
export function nativeLauncher(): string | undefined {
  return launcher;
}

let container: { readonly beside: string | undefined; readonly path: string | undefined } | undefined;

/**
 * dist/native/wharf-container (native/wharf_container.c), which the build makes beside the
 * launcher: it runs a step in a container of its own making, without an OCI runtime.
 */
export function nativeContainer(): string | undefined {
  if (container?.beside !== launcher) container = undefined;
  if (!container) {
    const path = launcher !== undefined ? join(dirname(launcher), 'wharf-container') : undefined;
    container = { beside: launcher, path: path !== undefined && existsSync(path) ? path : undefined };
  }
  return container.path;
}
