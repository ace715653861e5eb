/**
 * Deterministic tar of a directory. Entries come depth-first with siblings sorted bytewise by
 * name, so parents precede children; owners are numeric; mtimes are whole seconds (clamped to
 * SOURCE_DATE_EPOCH when given); nothing else about the machine leaks in. In `overlay` form the
 * directory is an overlayfs upper dir and its whiteouts become OCI whiteout entries.
 */
import { closeSync, openSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { compareBytewise, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK, UserError } from '../util/index.js';
import { encodeHeader, endOfArchive, padToBlock, paddingFor, type TarEntry } from './tar-header.js';
import type { DirForm, FileSpan, TarReuse } from './types.js';
import { readTreeXattrs, type Xattrs } from './xattr.js';
import { inodeOf, linkKeyOf, listEntries, lstatEntry, type EntryStat } from './entry-stat.js';
import { Splicer, type SplicedEntry } from './tar-splice.js';

export interface TarOptions {
  readonly form: DirForm;
  readonly sourceDateEpoch?: number;
  /** The tree's xattrs, when already read (see LayerWriteOptions.xattrs). */
  readonly xattrs?: ReadonlyMap<string, Xattrs>;
  /** Offsets are of this tar stream: only for a blob stored as the plain tar. */
  readonly reuse?: TarReuse;
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
const OVERLAY_XATTR_PREFIX = 'trusted.overlay.';
const UNREPRESENTABLE = new Set(['trusted.overlay.redirect', 'trusted.overlay.metacopy']);
/** Read files in chunks this big: large enough for throughput, small enough to keep memory flat. */
const READ_CHUNK = 1024 * 1024;
/** Files up to this size are read in one call. */
const SMALL_FILE = 256 * 1024;
/** Headers and small files are gathered into chunks of about this size. */
const COALESCE = 256 * 1024;

function isOverlayWhiteout(st: EntryStat): boolean {
  return st.kind === S_IFCHR && st.rdevMajor === 0 && st.rdevMinor === 0;
}

/**
 * The tar stream of `dir` as chunks of about COALESCE bytes; end-of-archive blocks included. The
 * walk, the lstats and the reads are synchronous (TarWriter): a thread-pool round trip per call
 * made trees of small files several times slower than GNU tar, and an async generator per entry
 * cost more than the entry. The pipeline still gets the event loop between chunks.
 */
export async function* tarDirectory(dir: string, opts: TarOptions): AsyncGenerator<Buffer> {
  const xattrs = opts.xattrs ?? (await readTreeXattrs(dir));
  const tar = new TarWriter(dir, opts, xattrs);
  try {
    yield* tar.chunks();
  } finally {
    tar.close();
  }
}

class TarWriter {
  /** Where the next entry starts in the tar. */
  private pos = 0;
  /** Bytes written out but not yet handed on, and their total. */
  private parts: Buffer[] = [];
  private size = 0;
  /** Entries to copy out of the earlier blob, back to back there (see Splicer.readBatch). */
  private batch: SplicedEntry[] = [];
  /** dev:ino of every multiply-linked non-directory seen, → the first path written. */
  private readonly linkSources = new Map<string, string>();
  private readonly splicer: Splicer | undefined;

  constructor(
    private readonly dir: string,
    private readonly opts: TarOptions,
    private readonly xattrs: ReadonlyMap<string, Xattrs>,
  ) {
    const from = opts.reuse?.from;
    this.splicer = from ? new Splicer(from.blobPath, from.spans, READ_CHUNK) : undefined;
  }

  *chunks(): Generator<Buffer> {
    yield* this.directory('', this.dir, lstatEntry(this.dir));
    this.emit(endOfArchive());
    this.flushBatch();
    yield* this.take();
  }

  close(): void {
    this.splicer?.close();
  }

  private *directory(rel: string, abs: string, st: EntryStat): Generator<Buffer> {
    const common = this.common(rel, st);
    if (rel !== '') this.emit(encodeHeader({ ...common, ...this.keptXattrs(rel), type: 'dir', size: 0 }));
    if (this.opts.form === 'overlay' && this.xattrs.get(rel)?.get('trusted.overlay.opaque')?.toString() === 'y') {
      this.emit(encodeHeader({ ...common, path: rel === '' ? OPAQUE_MARKER : `${rel}/${OPAQUE_MARKER}`, type: 'file', mode: 0, size: 0 }));
    }
    // Siblings are ordered by the name they get in the tar (a whiteout `x` sorts as `.wh.x`).
    const children = listEntries(abs).map(({ name, st: cst }) => {
      const tarName = this.opts.form === 'overlay' && isOverlayWhiteout(cst) ? `${WHITEOUT_PREFIX}${name}` : name;
      return { name, tarName, st: cst };
    });
    children.sort((a, b) => compareBytewise(a.tarName, b.tarName));
    for (const c of children) {
      const childRel = rel === '' ? c.name : `${rel}/${c.name}`;
      if (c.st.kind === S_IFDIR) yield* this.directory(childRel, join(abs, c.name), c.st);
      else {
        const content = this.leaf(childRel, join(abs, c.name), c.st);
        if (content) {
          for (const chunk of content) {
            this.emit(chunk);
            if (this.size >= COALESCE) yield* this.take();
          }
        }
      }
      if (this.size >= COALESCE) yield* this.take();
    }
  }

  /** Writes a non-directory; a large file's content is left to the caller as chunks. */
  private leaf(rel: string, abs: string, st: EntryStat): Iterable<Buffer> | undefined {
    const common = this.common(rel, st);
    if (this.opts.form === 'overlay' && isOverlayWhiteout(st)) {
      // A deletion: an empty regular file `.wh.<name>`. All whiteouts share one inode, so they
      // never go through hard-link detection.
      const slash = rel.lastIndexOf('/');
      this.emit(encodeHeader({ ...common, path: `${rel.slice(0, slash + 1)}${WHITEOUT_PREFIX}${rel.slice(slash + 1)}`, type: 'file', size: 0 }));
      return undefined;
    }
    const withX = this.keptXattrs(rel);
    if (st.nlink > 1) {
      const key = linkKeyOf(st);
      const first = this.linkSources.get(key);
      if (first !== undefined) {
        this.emit(encodeHeader({ ...common, ...withX, type: 'hardlink', size: 0, linkname: first }));
        return undefined;
      }
      this.linkSources.set(key, rel);
    }
    switch (st.kind) {
      case S_IFREG:
        return this.file(rel, abs, st, { ...common, ...withX, type: 'file', size: st.size });
      case S_IFLNK:
        this.emit(encodeHeader({ ...common, ...withX, type: 'symlink', size: 0, linkname: readlinkSync(abs) }));
        return undefined;
      case S_IFCHR:
      case S_IFBLK:
        this.emit(encodeHeader({ ...common, ...withX, type: st.kind === S_IFCHR ? 'char' : 'block', size: 0, devmajor: st.rdevMajor, devminor: st.rdevMinor }));
        return undefined;
      case S_IFIFO:
        this.emit(encodeHeader({ ...common, ...withX, type: 'fifo', size: 0 }));
        return undefined;
      case S_IFSOCK:
        // Sockets cannot be archived and mean nothing once their process is gone; docker skips them too.
        return undefined;
      default:
        throw new UserError('layer.unsupported-file', `cannot put ${abs} in a layer: unsupported file type`);
    }
  }

  private file(rel: string, abs: string, st: EntryStat, e: TarEntry): Iterable<Buffer> | undefined {
    const header = encodeHeader(e);
    const span: FileSpan = { inode: inodeOf(st), offset: this.pos, length: header.length + e.size + padToBlock(e.size) };
    const report = (spliced: boolean) => this.opts.reuse?.onFile?.(rel, span, spliced);
    const then = this.splicer?.find(rel, span);
    if (e.size <= SMALL_FILE) {
      const fromFile = () => [header, readSmallFile(abs, e.size), paddingFor(e.size)];
      // Reported once its batch is read and checked.
      if (then) this.defer({ offset: then.offset, length: then.length, header, fallback: fromFile, report });
      else {
        report(false);
        for (const b of fromFile()) this.emit(b);
      }
      return undefined;
    }
    // The entries waiting before it are read first: the earlier blob is then read front to back
    // (a read around the page cache has only the window read ahead, direct-read.ts).
    if (then) this.flushBatch();
    const spliced = then && this.splicer!.large(then, header);
    report(spliced !== undefined);
    return spliced ?? largeFile(abs, header, e.size);
  }

  private common(rel: string, st: EntryStat) {
    const epoch = this.opts.sourceDateEpoch;
    return { path: rel, mode: st.perm, uid: st.uid, gid: st.gid, mtime: epoch !== undefined ? Math.min(st.mtime, epoch) : st.mtime };
  }

  private keptXattrs(rel: string): { xattrs?: Xattrs } {
    const all = this.xattrs.get(rel);
    if (!all) return {};
    const kept = new Map<string, Buffer>();
    for (const name of [...all.keys()].sort(compareBytewise)) {
      if (this.opts.form === 'overlay' && UNREPRESENTABLE.has(name)) {
        // The entry's content lives in a lower layer; a layer tar cannot say so.
        throw new UserError('layer.overlay-feature', `${join(this.dir, rel)} carries ${name}, which a layer cannot represent`, 'mount the overlay with redirect_dir=off,metacopy=off');
      }
      if (this.opts.form === 'overlay' && name.startsWith(OVERLAY_XATTR_PREFIX)) continue;
      kept.set(name, all.get(name)!);
    }
    return kept.size ? { xattrs: kept } : {};
  }

  private emit(b: Buffer): void {
    if (this.batch.length) this.flushBatch();
    this.parts.push(b);
    this.size += b.length;
    this.pos += b.length;
  }

  private defer(entry: SplicedEntry): void {
    const first = this.batch[0];
    const last = this.batch.at(-1);
    if (last && (last.offset + last.length !== entry.offset || entry.offset + entry.length - first!.offset > READ_CHUNK)) this.flushBatch();
    this.batch.push(entry);
    this.pos += entry.length;
  }

  private flushBatch(): void {
    if (!this.batch.length) return;
    for (const b of this.splicer!.readBatch(this.batch)) {
      this.parts.push(b);
      this.size += b.length;
    }
    this.batch = [];
  }

  /** What is gathered, as one chunk: the blob writer does better with fewer, larger writes. */
  private *take(): Generator<Buffer> {
    if (this.size === 0) return;
    const parts = this.parts;
    const size = this.size;
    this.parts = [];
    this.size = 0;
    yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
  }
}

/** A small file read whole; its size must still be the one its header gives. */
function readSmallFile(abs: string, size: number): Buffer {
  const data = readFileSync(abs);
  if (data.length !== size) throw new UserError('layer.file-changed', `${abs} changed size while it was being written to a layer`);
  return data;
}

function* largeFile(abs: string, header: Buffer, size: number): Generator<Buffer> {
  const fd = openSync(abs, 'r');
  try {
    yield header;
    for (let remaining = size; remaining > 0; ) {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, remaining));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) throw new UserError('layer.file-changed', `${abs} shrank while it was being written to a layer`);
      remaining -= n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
    yield paddingFor(size);
  } finally {
    closeSync(fd);
  }
}
