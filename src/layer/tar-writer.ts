/**
 * Deterministic tar of a directory. Entries come depth-first with siblings sorted bytewise by
 * name, so parents precede children; owners are numeric; mtimes are whole seconds (clamped to
 * SOURCE_DATE_EPOCH when given); nothing else about the machine leaks in. In `overlay` form the
 * directory is an overlayfs upper dir and its whiteouts become OCI whiteout entries.
 */
import { open, readlink } from 'node:fs/promises';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/index.js';
import { encodeHeader, endOfArchive, padToBlock, paddingFor, type TarEntry } from './tar-header.js';
import type { DirForm, FileSpan, TarReuse } from './types.js';
import { readTreeXattrs, type Xattrs } from './xattr.js';
import { inodeOf, linkKeyOf, listEntries, lstatEntry, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK, type EntryStat } from './entry-stat.js';

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
/** Files up to this size are read in one synchronous call (see the directory walk). */
const SMALL_FILE = 256 * 1024;

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

function isOverlayWhiteout(st: EntryStat): boolean {
  return st.kind === S_IFCHR && st.rdevMajor === 0 && st.rdevMinor === 0;
}

/** The tar stream of `dir` as chunks; end-of-archive blocks included. */
export async function* tarDirectory(dir: string, opts: TarOptions): AsyncGenerator<Buffer> {
  const xattrs = opts.xattrs ?? (await readTreeXattrs(dir));
  const clamp = (s: number): number => (opts.sourceDateEpoch !== undefined ? Math.min(s, opts.sourceDateEpoch) : s);
  /** Where the next entry starts in the tar (advanced as entries() hands chunks out). */
  let pos = 0;
  const splicer = opts.reuse?.from ? new Splicer(opts.reuse.from.blobPath, opts.reuse.from.spans) : undefined;
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

  async function* entry(rel: string, abs: string, st: EntryStat): AsyncGenerator<Buffer | SplicedEntry> {
    const common = { path: rel, mode: st.perm, uid: st.uid, gid: st.gid, mtime: clamp(st.mtime) };

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

    if (st.kind === S_IFDIR) {
      if (rel !== '') yield encodeHeader({ ...common, ...withX, type: 'dir', size: 0 });
      if (opts.form === 'overlay' && xattrs.get(rel)?.get('trusted.overlay.opaque')?.toString() === 'y') {
        yield encodeHeader({ ...common, path: rel === '' ? OPAQUE_MARKER : `${rel}/${OPAQUE_MARKER}`, type: 'file', mode: 0, size: 0 });
      }
      // Siblings are ordered by the name they get in the tar (a whiteout `x` sorts as `.wh.x`).
      // Metadata and small files are read synchronously: per-call thread-pool round trips made
      // trees of small files several times slower than GNU tar, and the pipeline still yields
      // to the event loop between chunks.
      const children = listEntries(abs).map(({ name, st: cst }) => {
        const tarName = opts.form === 'overlay' && isOverlayWhiteout(cst) ? `${WHITEOUT_PREFIX}${name}` : name;
        return { name, tarName, st: cst };
      });
      children.sort((a, b) => byteOrder(a.tarName, b.tarName));
      for (const c of children) yield* entry(rel === '' ? c.name : `${rel}/${c.name}`, join(abs, c.name), c.st);
      return;
    }

    if (st.nlink > 1) {
      const key = linkKeyOf(st);
      const first = linkSources.get(key);
      if (first !== undefined) {
        yield encodeHeader({ ...common, ...withX, type: 'hardlink', size: 0, linkname: first });
        return;
      }
      linkSources.set(key, rel);
    }

    if (st.kind === S_IFLNK) {
      yield encodeHeader({ ...common, ...withX, type: 'symlink', size: 0, linkname: await readlink(abs) });
    } else if (st.kind === S_IFCHR || st.kind === S_IFBLK) {
      const type = st.kind === S_IFCHR ? 'char' : 'block';
      yield encodeHeader({ ...common, ...withX, type, size: 0, devmajor: st.rdevMajor, devminor: st.rdevMinor });
    } else if (st.kind === S_IFIFO) {
      yield encodeHeader({ ...common, ...withX, type: 'fifo', size: 0 });
    } else if (st.kind === S_IFREG) {
      const e: TarEntry = { ...common, ...withX, type: 'file', size: st.size };
      const header = encodeHeader(e);
      const span: FileSpan = { inode: inodeOf(st), offset: pos, length: header.length + e.size + padToBlock(e.size) };
      const readSmall = () => [header, readSmallFile(abs, e.size), paddingFor(e.size)];
      const report = (spliced: boolean) => opts.reuse?.onFile?.(rel, span, spliced);
      // The splicer reports what it took: a large entry now, a small one once its batch is read.
      const spliced = splicer?.entry(rel, span, header, e.size <= SMALL_FILE ? readSmall : undefined, report);
      if (spliced) yield* spliced;
      else {
        report(false);
        if (e.size <= SMALL_FILE) yield* readSmall();
        else yield* fileEntry(e, header, abs);
      }
    } else if (st.kind === S_IFSOCK) {
      // Sockets cannot be archived and mean nothing once their process is gone; docker skips them too.
      return;
    } else {
      throw new UserError('layer.unsupported-file', `cannot put ${abs} in a layer: unsupported file type`);
    }
  }

  try {
    // Entries taken from the earlier blob are gathered while they lie back to back there, and read
    // in one call (a read per file was most of the time such a tar took).
    let batch: SplicedEntry[] = [];
    for await (const item of entry('', dir, lstatEntry(dir))) {
      pos += item.length;
      if (!('fallback' in item)) {
        if (batch.length) yield* splicer!.readBatch(batch.splice(0));
        yield item;
        continue;
      }
      const last = batch.at(-1);
      if (last && (last.offset + last.length !== item.offset || item.offset + item.length - batch[0]!.offset > READ_CHUNK)) yield* splicer!.readBatch(batch.splice(0));
      batch.push(item);
    }
    if (batch.length) yield* splicer!.readBatch(batch);
    yield endOfArchive();
  } finally {
    splicer?.close();
  }
}

/** A small file read whole; its size must still be the one its header gives. */
function readSmallFile(abs: string, size: number): Buffer {
  const data = readFileSync(abs);
  if (data.length !== size) throw new UserError('layer.file-changed', `${abs} changed size while it was being written to a layer`);
  return data;
}

async function* fileEntry(e: TarEntry, header: Buffer, abs: string): AsyncGenerator<Buffer> {
  const fh = await open(abs, 'r');
  try {
    yield header;
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

/**
 * A small entry to copy out of the earlier blob, read together with its neighbours there. Its
 * header is checked once read; `fallback` gives the same bytes from the file when it does not match.
 */
interface SplicedEntry {
  readonly offset: number;
  readonly length: number;
  readonly header: Buffer;
  readonly fallback: () => Buffer[];
  /** Told whether the bytes came from the earlier blob after all. */
  readonly report: (spliced: boolean) => void;
}

/**
 * Copies file entries out of an earlier layer blob (see TarReuse): an entry is taken when the file
 * is the same inode the earlier tar read at that path and the entry's header bytes there are the
 * ones this tar would write now (same path, mode, owner, mtime, size, xattrs), so the bytes are
 * exactly what reading the file would give. Hard-linked snapshot files are never written, which
 * is what makes the content the same.
 */
class Splicer {
  private fd: number | undefined;
  private failed = false;

  constructor(
    private readonly blobPath: string,
    private readonly spans: ReadonlyMap<string, FileSpan>,
  ) {}

  /**
   * How to take the entry from the earlier blob: a small one (`fallback` given) is deferred to a
   * batch read, a large one is read now in chunks. Undefined when it has to come from the file.
   */
  entry(
    rel: string, now: FileSpan, header: Buffer, fallback: (() => Buffer[]) | undefined, report: (spliced: boolean) => void,
  ): Iterable<Buffer | SplicedEntry> | undefined {
    const then = this.spans.get(rel);
    if (!then || now.inode === '' || then.inode !== now.inode || then.length !== now.length) return undefined;
    const fd = this.open();
    if (fd === undefined) return undefined;
    if (fallback) return [{ offset: then.offset, length: then.length, header, fallback, report }];
    const first = this.read(fd, then.offset, Math.min(READ_CHUNK, then.length));
    if (!first || !startsWith(first, 0, header)) return undefined;
    report(true);
    return this.rest(fd, then, first);
  }

  /** The bytes of entries that lie back to back in the earlier blob, each checked by its header. */
  *readBatch(batch: readonly SplicedEntry[]): Generator<Buffer> {
    const start = batch[0]!.offset;
    const last = batch.at(-1)!;
    const buf = this.read(this.fd!, start, last.offset + last.length - start);
    if (buf && batch.every((e) => startsWith(buf, e.offset - start, e.header))) {
      for (const e of batch) e.report(true);
      yield buf;
      return;
    }
    for (const e of batch) {
      const ok = buf !== undefined && startsWith(buf, e.offset - start, e.header);
      e.report(ok);
      if (ok) yield buf.subarray(e.offset - start, e.offset - start + e.length);
      else yield* e.fallback();
    }
  }

  private *rest(fd: number, span: FileSpan, first: Buffer): Generator<Buffer> {
    yield first;
    for (let off = first.length; off < span.length; ) {
      const buf = this.read(fd, span.offset + off, Math.min(READ_CHUNK, span.length - off));
      if (!buf) throw new Error(`${this.blobPath} is shorter than its recorded entries`);
      yield buf;
      off += buf.length;
    }
  }

  private read(fd: number, at: number, length: number): Buffer | undefined {
    const buf = Buffer.allocUnsafe(length);
    return readSync(fd, buf, 0, length, at) === length ? buf : undefined;
  }

  private open(): number | undefined {
    if (this.fd === undefined && !this.failed) {
      try {
        this.fd = openSync(this.blobPath, 'r');
      } catch {
        this.failed = true; // gone (collected): every file is read instead
      }
    }
    return this.fd;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function startsWith(buf: Buffer, at: number, header: Buffer): boolean {
  return buf.length >= at + header.length && buf.compare(header, 0, header.length, at, at + header.length) === 0;
}
