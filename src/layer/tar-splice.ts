/**
 * Copies file entries out of an earlier layer blob (see TarReuse): an entry is taken when the file
 * is the same inode the earlier tar read at that path and the entry's header bytes there are the
 * ones the tar would write now (same path, mode, owner, mtime, size, xattrs), so the bytes are
 * exactly what reading the file would give. Hard-linked snapshot files are never written, which
 * is what makes the content the same.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { DirectReader } from './direct-read.js';
import type { FileSpan } from './types.js';

/**
 * A small entry to copy out of the earlier blob, read together with its neighbours there. Its
 * header is checked once read; `fallback` gives the same bytes from the file when it does not match.
 */
export interface SplicedEntry {
  readonly offset: number;
  readonly length: number;
  readonly header: Buffer;
  readonly fallback: () => Buffer[];
  /** Told whether the bytes came from the earlier blob after all. */
  readonly report: (spliced: boolean) => void;
}

export class Splicer {
  /** Reads around the page cache (direct-read.ts) when they can be made, else the plain descriptor. */
  private direct: DirectReader | undefined;
  private fd: number | undefined;
  private opened = false;
  private failed = false;

  constructor(
    private readonly blobPath: string,
    private readonly spans: ReadonlyMap<string, FileSpan>,
    /** Reads are at most this big. */
    private readonly chunk: number,
  ) {}

  /** Where the earlier tar had this file, when it is the same file and the blob is there. */
  find(rel: string, now: FileSpan): FileSpan | undefined {
    const then = this.spans.get(rel);
    if (!then || now.inode === '' || then.inode !== now.inode || then.length !== now.length) return undefined;
    return this.open() ? then : undefined;
  }

  /** A large entry's bytes in chunks, or undefined when its header there is not `header`. */
  large(then: FileSpan, header: Buffer): Iterable<Buffer> | undefined {
    const first = this.read(then.offset, Math.min(this.chunk, then.length));
    if (!first || !startsWith(first, 0, header)) return undefined;
    return this.rest(then, first);
  }

  /** The bytes of entries that lie back to back in the earlier blob, each checked by its header. */
  readBatch(batch: readonly SplicedEntry[]): Buffer[] {
    const start = batch[0]!.offset;
    const last = batch.at(-1)!;
    const buf = this.read(start, last.offset + last.length - start);
    if (buf && batch.every((e) => startsWith(buf, e.offset - start, e.header))) {
      for (const e of batch) e.report(true);
      return [buf];
    }
    const out: Buffer[] = [];
    for (const e of batch) {
      const ok = buf !== undefined && startsWith(buf, e.offset - start, e.header);
      e.report(ok);
      if (ok) out.push(buf.subarray(e.offset - start, e.offset - start + e.length));
      else out.push(...e.fallback());
    }
    return out;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.direct?.close();
    this.direct = undefined;
  }

  private *rest(span: FileSpan, first: Buffer): Generator<Buffer> {
    yield first;
    for (let off = first.length; off < span.length; ) {
      const buf = this.read(span.offset + off, Math.min(this.chunk, span.length - off));
      if (!buf) throw new Error(`${this.blobPath} is shorter than its recorded entries`);
      yield buf;
      off += buf.length;
    }
  }

  private read(at: number, length: number): Buffer | undefined {
    if (this.direct) {
      try {
        return this.direct.read(at, length);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        this.direct.close(); // accepted at open, refused on read: plain reads from here on
        this.direct = undefined;
      }
    }
    try {
      this.fd ??= openSync(this.blobPath, 'r');
    } catch {
      return undefined; // gone since: the files are read instead
    }
    const buf = Buffer.allocUnsafe(length);
    return readSync(this.fd, buf, 0, length, at) === length ? buf : undefined;
  }

  private open(): boolean {
    if (!this.opened) {
      this.opened = true;
      this.direct = DirectReader.open(this.blobPath);
      try {
        if (!this.direct) this.fd = openSync(this.blobPath, 'r');
      } catch {
        this.failed = true; // gone (collected): every file is read instead
      }
    }
    return !this.failed;
  }
}

function startsWith(buf: Buffer, at: number, header: Buffer): boolean {
  return buf.length >= at + header.length && buf.compare(header, 0, header.length, at, at + header.length) === 0;
}
