/**
 * The safe layer applier: extracts a (possibly compressed) layer tar into a target directory,
 * applying OCI whiteouts. In `plain` form deletions happen on disk (layers stacked into one
 * tree); in `overlay` form they are recorded the way overlayfs reads them (char 0/0 whiteouts,
 * `trusted.overlay.opaque=y`), for snapshot dirs used as overlay lower layers.
 *
 * Every entry is placed via resolveDir (no step ever leaves the target), existing paths are
 * removed before being recreated (never written through), and files are created O_EXCL|O_NOFOLLOW.
 */
import { spawn } from 'node:child_process';
import { constants, lstatSync, type Stats } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, readdir, realpath, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { UserError } from '../util/index.js';
import { decompressed } from './compress.js';
import { cleanArchivePath, resolveDir, unsafe } from './safe-path.js';
import { readTar, type ReadEntry } from './tar-reader.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './tar-writer.js';
import type { ApplyOptions, ApplyResult } from './types.js';
import { checkDiffId, isPooledHashTap, tapped } from './verify.js';
import { restoreXattrs, type Xattrs } from './xattr.js';

const OVERLAY_XATTR_PREFIX = 'trusted.overlay.';

function runMknod(path: string, mode: number, kind: 'c' | 'b' | 'p', major = 0, minor = 0): Promise<void> {
  const args = ['-m', (mode & 0o7777).toString(8), path, kind, ...(kind === 'p' ? [] : [String(major), String(minor)])];
  return new Promise((resolve, reject) => {
    const child = spawn('mknod', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) => reject(new UserError('layer.mknod', `cannot run mknod: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new UserError('layer.mknod', `mknod ${path} failed: ${err.trim()}`, 'creating device nodes needs root'))));
  });
}

/**
 * A file on disk that is what a tar entry describes, going by its metadata (see ApplyOptions.reuse).
 * Tar mtimes are often whole seconds (the docker CLI's are): a file rewritten with the same size
 * within the second of its last mtime looks unchanged. So, as git does with racily clean entries,
 * a file is trusted only when it was written here (its ctime) RACY_SECONDS or more after its mtime;
 * then any later change of the sender's file falls in a later second. A racy one is rewritten, and
 * is trusted from then on.
 */
function sameFile(st: Stats, e: ReadEntry): boolean {
  return (
    st.isFile() && st.nlink === 1 && e.xattrs.size === 0 && st.size === e.size && (st.mode & 0o7777) === (e.mode & 0o7777) &&
    st.uid === e.uid && st.gid === e.gid && Math.abs(st.mtimeMs - e.mtime * 1000) < 1 && st.ctimeMs - e.mtime * 1000 >= RACY_SECONDS * 1000
  );
}

/** Seconds between a file's mtime and when it was written here for its metadata to be trusted. */
const RACY_SECONDS = 3;

/** Synchronous, as resolveDir's lookups are (safe-path.ts): one per entry, microseconds each. */
const exists = (p: string): Stats | undefined => lstatSync(p, { throwIfNoEntry: false });

class Applier {
  /** Paths (relative, resolved) this layer created: an opaque marker keeps these. */
  private readonly touched = new Set<string>();
  /** Work deferred to the end so later entries do not disturb it. */
  private readonly dirTimes = new Map<string, number>();
  private readonly xattrs = new Map<string, Xattrs>();
  /** Files a reused target already had as the archive says (see ApplyOptions.reuse). */
  kept = 0;
  /** First overlay whiteout made by this apply; later ones are hard links to it (as overlayfs does). */
  private whiteoutInode: string | undefined;

  constructor(private readonly root: string, private readonly opts: ApplyOptions) {}

  /** Marks a path (and so its ancestors) as this layer's own content. */
  private touch(rel: string): void {
    for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) this.touched.add(rel.slice(0, i));
    this.touched.add(rel);
  }

  /** Forgets deferred work at (and, for a directory, under) a removed path, so it can never apply through a replacement. */
  private forget(rel: string, wasDir: boolean): void {
    for (const m of [this.dirTimes, this.xattrs] as Map<string, unknown>[]) {
      m.delete(rel);
      if (wasDir) for (const k of m.keys()) if (k.startsWith(`${rel}/`)) m.delete(k);
    }
  }

  private async remove(abs: string, rel: string, st?: Stats): Promise<void> {
    const wasDir = (st ?? (await exists(abs)))?.isDirectory() ?? false;
    await rm(abs, { recursive: true, force: true });
    this.forget(rel, wasDir);
  }

  async entry(e: ReadEntry): Promise<void> {
    const parts = cleanArchivePath(e.path);
    const base = parts.pop();
    if (base === undefined) {
      if (e.type !== 'dir') throw unsafe(e.path, 'only a directory may name the target root');
      await this.metadata(e, this.root, '', true);
      return;
    }
    const onCreate = (r: string) => this.touch(r);
    // A `.wh.` name cannot be a file in a layer (it would read as a whiteout): ADD leaves them out.
    if (this.opts.whiteouts === 'skip' && base.startsWith(WHITEOUT_PREFIX)) return;
    const whiteouts = this.opts.whiteouts !== 'literal' && this.opts.whiteouts !== 'skip';
    if (whiteouts && base === OPAQUE_MARKER) {
      const dir = (await resolveDir(this.root, parts, e.path, true, onCreate))!;
      await this.opaque(dir.abs, dir.rel.join('/'));
      return;
    }
    if (whiteouts && base.startsWith(WHITEOUT_PREFIX)) {
      const victim = base.slice(WHITEOUT_PREFIX.length);
      if (victim === '' || victim === '.' || victim === '..' || victim.startsWith(WHITEOUT_PREFIX)) {
        throw new UserError('layer.invalid-whiteout', `layer entry ${JSON.stringify(e.path)} is an invalid whiteout`);
      }
      const dir = await resolveDir(this.root, parts, e.path, this.opts.form === 'overlay', onCreate);
      if (dir) await this.whiteout(dir.abs, dir.rel.length ? `${dir.rel.join('/')}/${victim}` : victim, victim);
      return;
    }

    const dir = (await resolveDir(this.root, parts, e.path, true, onCreate))!;
    const abs = join(dir.abs, base);
    const rel = dir.rel.length ? `${dir.rel.join('/')}/${base}` : base;
    const existing = await exists(abs);
    if (this.opts.reuse && e.type === 'file' && existing && sameFile(existing, e)) {
      // The reader skips the unread content.
      this.touch(rel);
      this.kept++;
      return;
    }
    if (existing && !(existing.isDirectory() && e.type === 'dir')) await this.remove(abs, rel, existing);

    switch (e.type) {
      case 'dir':
        if (!existing?.isDirectory()) await mkdir(abs, { mode: 0o700 });
        break;
      case 'file': {
        const fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of e.body) await fh.write(chunk);
        } finally {
          await fh.close();
        }
        break;
      }
      case 'symlink':
        await symlink(e.linkname, abs);
        break;
      case 'hardlink': {
        const srcParts = cleanArchivePath(e.linkname, e.path);
        const srcBase = srcParts.pop();
        const srcDir = srcBase === undefined ? undefined : await resolveDir(this.root, srcParts, e.path, false);
        const src = srcDir && join(srcDir.abs, srcBase!);
        const st = src && (await exists(src));
        if (!st) throw unsafe(e.path, `its hard-link target ${JSON.stringify(e.linkname)} does not exist in the target`);
        if (st.isDirectory()) throw unsafe(e.path, 'hard links to directories are not allowed');
        await link(src, abs);
        this.touch(rel);
        return; // a hard link shares its source's metadata
      }
      case 'char':
      case 'block':
      case 'fifo':
        await runMknod(abs, e.mode, e.type === 'char' ? 'c' : e.type === 'block' ? 'b' : 'p', e.devmajor, e.devminor);
        break;
    }
    this.touch(rel);
    await this.metadata(e, abs, rel, e.type === 'dir');
  }

  private async metadata(e: ReadEntry, abs: string, rel: string, isDir: boolean): Promise<void> {
    await lchown(abs, e.uid, e.gid);
    // chmod after chown: chown clears set-id bits.
    if (e.type !== 'symlink') await chmod(abs, e.mode & 0o7777);
    if (isDir) this.dirTimes.set(rel, e.mtime);
    else await lutimes(abs, e.mtime, e.mtime);
    const kept = new Map([...e.xattrs].filter(([k]) => !k.startsWith(OVERLAY_XATTR_PREFIX)));
    // Merged, not replaced: an opaque marker may have come before its directory's entry.
    if (kept.size) this.xattrs.set(rel, new Map([...(this.xattrs.get(rel) ?? []), ...kept]));
  }

  private async whiteout(dirAbs: string, rel: string, victim: string): Promise<void> {
    // The parent's mtime is not the layer's to change (umoci and moby keep it).
    const parent = await lstat(dirAbs);
    const abs = join(dirAbs, victim);
    const st = await exists(abs);
    if (this.touched.has(rel)) {
      // A whiteout deletes lower content only: what this layer wrote stays, whatever the order.
      if (st?.isDirectory() && this.opts.form === 'plain') await this.clearLower(abs, rel);
    } else if (this.opts.form === 'plain') {
      if (st) await this.remove(abs, rel, st);
    } else {
      if (st) await this.remove(abs, rel, st);
      // Link to the previous whiteout if it is still one (a later entry may have replaced it).
      const prev = this.whiteoutInode && (await exists(this.whiteoutInode));
      if (this.whiteoutInode && prev && prev.isCharacterDevice() && prev.rdev === 0) {
        await link(this.whiteoutInode, abs);
      } else {
        await runMknod(abs, 0, 'c', 0, 0);
        this.whiteoutInode = abs;
      }
    }
    await utimes(dirAbs, parent.atime, parent.mtime);
  }

  private async opaque(dirAbs: string, rel: string): Promise<void> {
    if (this.opts.form === 'overlay') {
      this.xattrs.set(rel, new Map([...(this.xattrs.get(rel) ?? []), ['trusted.overlay.opaque', Buffer.from('y')]]));
      return;
    }
    await this.clearLower(dirAbs, rel);
  }

  /** Removes what lower layers put under a directory, keeping what this layer created. */
  private async clearLower(dirAbs: string, rel: string): Promise<void> {
    for (const name of await readdir(dirAbs)) {
      const childRel = rel ? `${rel}/${name}` : name;
      const abs = join(dirAbs, name);
      if (!this.touched.has(childRel)) await this.remove(abs, childRel);
      else if ((await lstat(abs)).isDirectory()) await this.clearLower(abs, childRel);
    }
  }

  /** Paths the archive does not name, under a reused target: they were the earlier archive's. */
  private async removeUntouched(dirAbs: string, rel: string): Promise<void> {
    for (const name of await readdir(dirAbs)) {
      const childRel = rel ? `${rel}/${name}` : name;
      const abs = join(dirAbs, name);
      if (!this.touched.has(childRel)) await this.remove(abs, childRel);
      else if (lstatSync(abs).isDirectory()) await this.removeUntouched(abs, childRel);
    }
  }

  async finish(): Promise<void> {
    if (this.opts.reuse) await this.removeUntouched(this.root, '');
    await restoreXattrs(this.root, [...this.xattrs]);
    for (const [rel, mtime] of this.dirTimes) await utimes(rel === '' ? this.root : join(this.root, rel), mtime, mtime);
  }
}

/**
 * Applies the layer in `stream` (gzip, zstd, xz, bzip2 or plain tar) onto `target` (created if
 * missing). Throws UserError naming the entry for anything unsafe or malformed; on error the
 * target may hold part of the layer, but nothing outside it was touched.
 */
export async function applyLayer(stream: Readable, target: string, opts: ApplyOptions): Promise<ApplyResult> {
  await mkdir(target, { recursive: true });
  const root = await realpath(target);
  const applier = new Applier(root, opts);
  const raw = await decompressed(stream, opts.what);
  const tar = opts.diffId === undefined ? raw : tapped(raw);
  try {
    for await (const e of readTar(tar)) {
      await applier.entry(e).catch((err: unknown) => {
        // A full disk is not the entry's fault: the caller says where it was writing.
        if (err instanceof UserError || !(err instanceof Error && 'code' in err) || err.code === 'ENOSPC') throw err;
        throw new UserError('layer.apply', `applying layer entry ${JSON.stringify(e.path)} failed: ${err.message}`);
      });
    }
  } finally {
    tar.destroy();
    raw.destroy();
  }
  // readTar reads to the end of the stream, so the hash covers every byte of the tar.
  if (isPooledHashTap(tar)) checkDiffId(opts.what ?? 'layer', opts.diffId!, await tar.digest());
  await applier.finish();
  return { kept: applier.kept };
}
