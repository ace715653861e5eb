import { chmod, lchown, rm, writeFile } from 'node:fs/promises';
import {
  chmodSync, closeSync, constants, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync, readSync, rmSync, symlinkSync,
  utimesSync, writeSync,
} from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { applyLayer, isTarArchive, restoreXattrs } from '../../layer/index.js';
import type { ChmodSpec } from '../../instructions/index.js';
import { selectContext, type SourceItem, type SourceRoot } from './sources.js';
import type { ContextEntry } from '../../context/index.js';
import { resolveInRootSync, resolveUser, type UserFiles } from '../../runtime/index.js';
import { carriedXattr, lstatQuiet, openRegularFile, readXattrsOf, timeSlicer, UserError } from '../../util/index.js';

export type { SourceItem, SourceRoot } from './sources.js';

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** Plain context sources (RUN --mount binds): every entry they bring in, for the key. */
export function contextSelection(entries: readonly ContextEntry[], sources: readonly string[], label: string): ContextEntry[] {
  return selectContext('', entries, { sources, parents: false, exclude: [], label }).entries;
}

/** Plain context sources (RUN --mount binds) as roots to copy. */
export function contextRoots(contextDir: string, entries: readonly ContextEntry[], sources: readonly string[], label: string): SourceRoot[] {
  return selectContext(contextDir, entries, { sources, parents: false, exclude: [], label }).roots;
}

/**
 * `--chown`: numeric `uid[:gid]` (gid defaults to uid) or names from the image's passwd/group. An
 * empty user (`:GROUP`) is root, as in BuildKit.
 */
export async function resolveOwner(rootfs: string | UserFiles, chown: string | undefined): Promise<Owner> {
  if (!chown) return { uid: 0, gid: 0 };
  const [u = '', g] = chown.split(':');
  if (u === '') return resolveOwner(rootfs, g ? `0:${g}` : '0');
  if (/^\d+$/.test(u) && (g === undefined || /^\d+$/.test(g))) return { uid: Number(u), gid: Number(g ?? u) };
  const r = await resolveUser(rootfs, chown);
  return { uid: r.uid, gid: r.gid };
}

/**
 * Creates missing directories along `path` inside rootfs (owned by `owner`); returns the host path.
 * The path is resolved in the image first, as BuildKit's copy does (continuity's RootPath, then
 * MkdirAll): a symlink on the way is followed even when its target is missing, and the missing
 * directories are made at the target (`/dst -> /nonexistent/dir` puts `COPY f /dst/` at
 * /nonexistent/dir/f).
 */
export async function mkdirInRoot(rootfs: string, path: string, owner: Owner): Promise<string> {
  const host = resolveInRootSync(rootfs, path);
  let cur = rootfs;
  let inImage = '';
  for (const part of relative(rootfs, host).split(sep).filter(Boolean)) {
    cur = join(cur, part);
    inImage = `${inImage}/${part}`;
    // Synchronous: a few microseconds each, where each thread-pool round trip cost 0.1-0.3 ms.
    const st = lstatQuiet(cur);
    if (st?.isDirectory()) continue;
    if (st) throw new UserError('build.not-a-directory', `${inImage} exists in the image and is not a directory`);
    mkdirSync(cur, { mode: 0o755 });
    lchownSync(cur, owner.uid, owner.gid);
    chmodSync(cur, 0o755);
  }
  return host;
}

export interface CopyOptions {
  readonly dest: string;
  /** Dest written with a trailing `/` (or `.`): always a directory. */
  readonly destIsDir: boolean;
  /** --chown's owner, or root for context files; also the owner of directories made on the way to dest. */
  readonly owner: Owner;
  /**
   * COPY --from without --chown: each item keeps the uid and gid it has in the source stage, as
   * BuildKit's copy does (only context files are made root's).
   */
  readonly keepOwner?: boolean;
  readonly chmod?: ChmodSpec;
  /** ADD: local archives are extracted into the destination. */
  readonly extract: boolean;
  /**
   * Source files (absolute paths) whose extended attributes the copy carries over (user.* and
   * security.capability, as Docker's COPY does): the context files the key found some on.
   */
  readonly xattrSources?: ReadonlySet<string>;
  readonly label: string;
}

/** A heredoc source of COPY/ADD: a file named after its delimiter. */
export interface InlineSource {
  readonly name: string;
  readonly data: string;
}

/**
 * Copies matched sources, then heredoc files (mode 0644 before --chmod), into the merged tree at
 * `rootfs` with Docker's COPY rules.
 */
export async function copyAll(rootfs: string, roots: readonly SourceRoot[], files: readonly InlineSource[], o: CopyOptions): Promise<void> {
  if (roots.length + files.length > 1 && !o.destIsDir) {
    throw new UserError('build.dest-not-dir', `${o.label}: with more than one source the destination must be a directory and end with a /`);
  }
  // Source → destination of files whose attributes are set once everything is written.
  const carry: [string, string][] = [];
  for (const root of roots) {
    const top = root.items[0]!;
    if (top.type === 'dir') {
      const made = o.keepOwner && !lstatQuiet(resolveInRootSync(rootfs, o.dest));
      const dir = await mkdirInRoot(rootfs, o.dest, o.owner);
      // A destination the copy makes takes the source directory's owner and mode (BuildKit copies
      // the directory's own metadata too); one the image already has keeps its own.
      if (made) {
        lchownSync(dir, top.uid, top.gid);
        chmodSync(dir, modeOf(o, top.mode, true));
      }
      await writeItems(dir, root.name, root.items.slice(1), o, carry);
      continue;
    }
    const what = `${o.label}: source ${root.name}`;
    if (o.extract && top.type === 'file' && (await isTarArchive(top.abs, what))) {
      const dir = await mkdirInRoot(rootfs, o.dest, o.owner);
      const archive = await openRegularFile(top.abs, { maxBytes: Number.MAX_SAFE_INTEGER, what, followSymlink: true });
      // An archive is not a layer: its `.wh.*` names delete nothing. They are left out, since in the
      // step's layer such a file would read as a whiteout and delete lower files from the image.
      await applyLayer(archive.createReadStream(), dir, { form: 'plain', whiteouts: 'skip' });
      continue;
    }
    writeItem(await targetFor(rootfs, root.name, o), top, root.name, o, carry);
  }
  await carryXattrs(carry);
  for (const f of files) {
    const host = await targetFor(rootfs, f.name, o);
    await rm(host, { recursive: true, force: true });
    await writeFile(host, f.data);
    await lchown(host, o.owner.uid, o.owner.gid);
    await chmod(host, modeOf(o, 0o644, false));
  }
}

/** Where a source named `name` lands: inside dest when it is (or will be) a directory, else dest. */
async function targetFor(rootfs: string, name: string, o: CopyOptions): Promise<string> {
  const existing = lstatQuiet(resolveInRootSync(rootfs, o.dest));
  const target = o.destIsDir || existing?.isDirectory() ? posix.join(o.dest, name) : o.dest;
  await mkdirInRoot(rootfs, posix.dirname(target), o.owner);
  return join(resolveInRootSync(rootfs, posix.dirname(target)), posix.basename(target));
}

export const copyRoots = (rootfs: string, roots: readonly SourceRoot[], o: CopyOptions) => copyAll(rootfs, roots, [], o);

const modeOf = (o: CopyOptions, mode: number, isDir: boolean) => (o.chmod ? o.chmod.apply(mode, isDir) : mode);
const ownerOf = (o: CopyOptions, it: SourceItem): Owner => (o.keepOwner ? { uid: it.uid, gid: it.gid } : o.owner);

/**
 * The copy runs on synchronous fs calls, yielding to the event loop every YIELD_EVERY_MS: each file
 * is a handful of calls of a few microseconds, and through the thread pool each was a round trip,
 * so a 10,000-file COPY spent ~3 s waiting where `cp -a` takes 0.2–0.5 s (bench/README.md).
 */
export const YIELD_EVERY_MS = 10;

/**
 * Sets the carried attributes of the sources on their copies: one setfattr process per COPY, and
 * only for one whose files have any (after chown, which clears security.capability).
 */
async function carryXattrs(carry: readonly (readonly [string, string])[]): Promise<void> {
  if (carry.length === 0) return;
  const read = await readXattrsOf(carry.map(([abs]) => abs));
  const set: [string, Map<string, Buffer>][] = [];
  const sources: string[] = [];
  for (const [abs, host] of carry) {
    const kept = new Map([...(read.get(abs) ?? [])].filter(([name]) => carriedXattr(name)));
    if (kept.size) {
      set.push([host.slice(1), kept]);
      sources.push(abs);
    }
  }
  try {
    await restoreXattrs('/', set);
  } catch (e) {
    throw new UserError(
      'build.xattr-copy', `cannot keep the extended attributes of ${sources.length} copied file(s) (${sources.slice(0, 3).join(', ')}${sources.length > 3 ? ', …' : ''}): ${(e as Error).message}`,
      'put the wharf store (--root) on a file system with user xattrs (ext4, xfs, btrfs), or remove them from the context files (setfattr -x NAME FILE)',
    );
  }
}

async function writeItems(dir: string, shown: string, items: readonly SourceItem[], o: CopyOptions, carry: [string, string][]): Promise<void> {
  // Items come depth-first, so a parent directory is made before its children.
  const dirs: [string, SourceItem][] = [];
  const slice = timeSlicer(YIELD_EVERY_MS);
  for (const it of items) {
    const host = join(dir, it.rel);
    writeItem(host, it, shown ? `${shown}/${it.rel}` : it.rel, o, carry);
    if (it.type === 'dir') dirs.push([host, it]);
    await slice();
  }
  // Directory mtimes last: writing their contents moved them.
  for (const [host, it] of dirs.reverse()) {
    const st = lstatSync(it.abs);
    utimesSync(host, st.atime, st.mtime);
  }
}

/** `shown` names the item as the user knows it (the source's name, then the path below it). */
function writeItem(host: string, it: SourceItem, shown: string, o: CopyOptions, carry: [string, string][]): void {
  if (it.type === 'other') throw specialFile(it.abs, shown, o.label);
  const existing = lstatSync(host, { throwIfNoEntry: false });
  if (it.type === 'dir') {
    // A directory the image already has keeps its owner and mode.
    if (existing?.isDirectory()) return;
    if (existing) rmSync(host, { recursive: true, force: true });
    mkdirSync(host);
    const owner = ownerOf(o, it);
    lchownSync(host, owner.uid, owner.gid);
    chmodSync(host, modeOf(o, it.mode, true));
    return;
  }
  if (existing) rmSync(host, { recursive: true, force: true });
  if (it.type === 'symlink') {
    writeSymlink(it.abs, it.linkTarget ?? '', host, ownerOf(o, it));
    return;
  }
  copyFileContents(it.abs, host, modeOf(o, it.mode, false), ownerOf(o, it));
  if (o.xattrSources?.has(it.abs)) carry.push([it.abs, host]);
}

/**
 * A FIFO, socket or device among the sources. BuildKit's copy makes device nodes and silently
 * drops FIFOs and sockets (fsutil's "unsupported mode" path returns no error); a build that quietly
 * loses a file, or puts a device node from the build host into an image, is worse than a clear stop.
 */
function specialFile(abs: string, shown: string, label: string): UserError {
  const st = lstatSync(abs, { throwIfNoEntry: false });
  const kind = st?.isFIFO() ? 'a named pipe (FIFO)' : st?.isSocket() ? 'a socket' : st?.isCharacterDevice() ? 'a character device' : st?.isBlockDevice() ? 'a block device' : 'not a regular file, directory or symlink';
  return new UserError(
    'build.special-file', `${label}: source ${shown || '.'} is ${kind}; COPY and ADD copy only regular files, directories and symlinks`,
    'remove it from the sources: list it in .dockerignore, pass --exclude, or name the files to copy',
  );
}

/** A symlink with the source's times, as BuildKit's copy keeps them (so a layer does not depend on when it was made). */
export function writeSymlink(src: string, target: string, dest: string, owner: Owner): void {
  symlinkSync(target, dest);
  lchownSync(dest, owner.uid, owner.gid);
  const st = lstatSync(src);
  lutimesSync(dest, st.atime, st.mtime);
}

/** One buffer for every copy: the copy is synchronous, so it is never shared. */
const copyBuffer = Buffer.allocUnsafe(1024 * 1024);

/**
 * read/write through a buffer, with owner, mode and times set on the open descriptors: 3× faster
 * than copyFileSync here (libuv's copyfile tries a clone and sendfile, and every path call goes
 * through the overlay's lookup again). Owner before mode: chown clears setuid/setgid bits.
 */
export function copyFileContents(src: string, dest: string, mode: number, owner: Owner): void {
  // Non-blocking, then checked: a source that became a FIFO after the walk must not hang the copy.
  const from = openSync(src, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(from);
    if (!st.isFile()) throw new UserError('build.special-file', `${src} is no longer a regular file (it changed during the build)`, 'build again once the context stops changing');
    const to = openSync(dest, 'w', 0o600);
    try {
      for (let n = readSync(from, copyBuffer); n > 0; n = readSync(from, copyBuffer)) {
        for (let off = 0; off < n; ) off += writeSync(to, copyBuffer, off, n - off);
      }
      fchownSync(to, owner.uid, owner.gid);
      fchmodSync(to, mode);
      futimesSync(to, st.atime, st.mtime);
    } finally {
      closeSync(to);
    }
  } finally {
    closeSync(from);
  }
}
