/**
 * Deterministic tar of a directory. Entries come depth-first with siblings sorted bytewise by
 * name, so parents precede children; owners are numeric; mtimes are whole seconds (clamped to
 * SOURCE_DATE_EPOCH when given); nothing else about the machine leaks in. In `overlay` form the
 * directory is an overlayfs upper dir and its whiteouts become OCI whiteout entries.
 */
import { lstat, open, readlink } from 'node:fs/promises';
import { lstatSync, readdirSync, readFileSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/index.js';
import { encodeHeader, endOfArchive, paddingFor, type TarEntry } from './tar-header.js';
import type { DirForm } from './types.js';
import { readTreeXattrs, type Xattrs } from './xattr.js';

export interface TarOptions {
  readonly form: DirForm;
  readonly sourceDateEpoch?: number;
  /** The tree's xattrs, when already read (see LayerWriteOptions.xattrs). */
  readonly xattrs?: ReadonlyMap<string, Xattrs>;
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
const OVERLAY_XATTR_PREFIX = 'trusted.overlay.';
const UNREPRESENTABLE = new Set(['trusted.overlay.redirect', 'trusted.overlay.metacopy']);
/** Read files in chunks this big: large enough for throughput, small enough to keep memory flat. */
const READ_CHUNK = 1024 * 1024;
/** Files up to this size are read in one synchronous call (see the directory walk). */
const SMALL_FILE = 256 * 1024;

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

function isOverlayWhiteout(st: BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

function major(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
function minor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}

/** The tar stream of `dir` as chunks; end-of-archive blocks included. */
export async function* tarDirectory(dir: string, opts: TarOptions): AsyncGenerator<Buffer> {
  const xattrs = opts.xattrs ?? (await readTreeXattrs(dir));
  const clamp = (mtimeMs: bigint): number => {
    const s = Number(mtimeMs / 1000n);
    return opts.sourceDateEpoch !== undefined ? Math.min(s, opts.sourceDateEpoch) : s;
  };
  /** dev:ino of every multiply-linked non-directory seen, → the first path written. */
  const linkSources = new Map<string, string>();

  const keptXattrs = (rel: string): Xattrs | undefined => {
    const all = xattrs.get(rel);
    if (!all) return undefined;
    const kept = new Map<string, Buffer>();
    for (const name of [...all.keys()].sort(byteOrder)) {
      if (opts.form === 'overlay' && UNREPRESENTABLE.has(name)) {
        // The entry's content lives in a lower layer; a layer tar cannot say so.
        throw new UserError('layer.overlay-feature', `${join(dir, rel)} carries ${name}, which a layer cannot represent`, 'mount the overlay with redirect_dir=off,metacopy=off');
      }
      if (opts.form === 'overlay' && name.startsWith(OVERLAY_XATTR_PREFIX)) continue;
      kept.set(name, all.get(name)!);
    }
    return kept.size ? kept : undefined;
  };

  async function* entry(rel: string, abs: string, st: BigIntStats): AsyncGenerator<Buffer> {
    const common = { path: rel, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtime: clamp(st.mtimeMs) };

    if (opts.form === 'overlay' && isOverlayWhiteout(st)) {
      // A deletion: an empty regular file `.wh.<name>`. All whiteouts share one inode, so they
      // never go through hard-link detection.
      const slash = rel.lastIndexOf('/');
      const path = `${rel.slice(0, slash + 1)}${WHITEOUT_PREFIX}${rel.slice(slash + 1)}`;
      yield encodeHeader({ ...common, path, type: 'file', size: 0 });
      return;
    }
    const x = keptXattrs(rel);
    const withX = x ? { xattrs: x } : {};

    if (st.isDirectory()) {
      if (rel !== '') yield encodeHeader({ ...common, ...withX, type: 'dir', size: 0 });
      if (opts.form === 'overlay' && xattrs.get(rel)?.get('trusted.overlay.opaque')?.toString() === 'y') {
        yield encodeHeader({ ...common, path: rel === '' ? OPAQUE_MARKER : `${rel}/${OPAQUE_MARKER}`, type: 'file', mode: 0, size: 0 });
      }
      // Siblings are ordered by the name they get in the tar (a whiteout `x` sorts as `.wh.x`).
      // Metadata and small files are read synchronously: per-call thread-pool round trips made
      // trees of small files several times slower than GNU tar, and the pipeline still yields
      // to the event loop between chunks.
      const children = readdirSync(abs, { encoding: 'buffer' }).map((raw) => {
        const name = raw.toString('utf8');
        if (!Buffer.from(name).equals(raw)) {
          const shown = [...raw].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
          throw new UserError('layer.bad-filename', `cannot put ${join(abs, shown)} in a layer: its name is not valid UTF-8`, 'rename the file');
        }
        const cst = lstatSync(join(abs, name), { bigint: true });
        const tarName = opts.form === 'overlay' && isOverlayWhiteout(cst) ? `${WHITEOUT_PREFIX}${name}` : name;
        return { name, tarName, st: cst };
      });
      children.sort((a, b) => byteOrder(a.tarName, b.tarName));
      for (const c of children) yield* entry(rel === '' ? c.name : `${rel}/${c.name}`, join(abs, c.name), c.st);
      return;
    }

    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = linkSources.get(key);
      if (first !== undefined) {
        yield encodeHeader({ ...common, ...withX, type: 'hardlink', size: 0, linkname: first });
        return;
      }
      linkSources.set(key, rel);
    }

    if (st.isSymbolicLink()) {
      yield encodeHeader({ ...common, ...withX, type: 'symlink', size: 0, linkname: await readlink(abs) });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const type = st.isCharacterDevice() ? 'char' : 'block';
      yield encodeHeader({ ...common, ...withX, type, size: 0, devmajor: major(st.rdev), devminor: minor(st.rdev) });
    } else if (st.isFIFO()) {
      yield encodeHeader({ ...common, ...withX, type: 'fifo', size: 0 });
    } else if (st.isFile()) {
      const e: TarEntry = { ...common, ...withX, type: 'file', size: Number(st.size) };
      if (e.size <= SMALL_FILE) {
        const data = readFileSync(abs);
        if (data.length !== e.size) throw new UserError('layer.file-changed', `${abs} changed size while it was being written to a layer`);
        yield encodeHeader(e);
        yield data;
        yield paddingFor(e.size);
      } else yield* fileEntry(e, abs);
    } else if (st.isSocket()) {
      // Sockets cannot be archived and mean nothing once their process is gone; docker skips them too.
      return;
    } else {
      throw new UserError('layer.unsupported-file', `cannot put ${abs} in a layer: unsupported file type`);
    }
  }

  yield* entry('', dir, await lstat(dir, { bigint: true }));
  yield endOfArchive();
}

async function* fileEntry(e: TarEntry, abs: string): AsyncGenerator<Buffer> {
  const fh = await open(abs, 'r');
  try {
    yield encodeHeader(e);
    let remaining = e.size;
    while (remaining > 0) {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, remaining));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) {
        throw new UserError('layer.file-changed', `${abs} shrank while it was being written to a layer`);
      }
      remaining -= bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
    yield paddingFor(e.size);
  } finally {
    await fh.close();
  }
}
