/**
 * Reads of a file around the page cache (O_DIRECT), for a COPY that splices entries out of an
 * earlier layer blob (tar-splice.ts). That blob was written around the cache too
 * (store/direct-write.ts), and reading 500 MB of it into the cache cost 1.3 s on this project's
 * machines against 0.37 s around it: a page cache that grows pays for every page it takes.
 *
 * Entries are taken in the order the earlier tar wrote them, so reads mostly move forward: they
 * are served from a window of WINDOW bytes, and the window after it is read on the thread pool
 * while this one is used (a direct read gets no readahead; 1 MB reads in turn ran at a third of
 * the disk's speed). Bytes are copied out of the windows, which are reused: fresh memory for every
 * read cost more than the reads (page faults and collections).
 */
import { closeSync, constants, openSync, read, readSync } from 'node:fs';
import { DIRECT_IO_BLOCK, nativeAddon } from '../util/index.js';

/** Bytes per read; a request is never larger than a window less one block. */
export const WINDOW = 8 << 20;

interface Window {
  readonly at: number;
  readonly buf: Buffer;
  /** Bytes read (short at the end of the file); undefined while the read runs, -1 if it failed. */
  length: number | undefined;
}

export class DirectReader {
  private current: Window | undefined;
  /** The window after `current`, being read or read. */
  private ahead: Window | undefined;
  private spare: Buffer | undefined;
  private closed = false;

  private constructor(
    private readonly fd: number,
    private readonly alloc: (size: number) => Buffer,
  ) {}

  /** undefined without aligned memory from the addon, or when the file refuses O_DIRECT. */
  static open(path: string): DirectReader | undefined {
    const alloc = nativeAddon()?.alignedBuffer;
    if (!alloc) return undefined;
    try {
      return new DirectReader(openSync(path, constants.O_RDONLY | constants.O_DIRECT), alloc);
    } catch {
      return undefined;
    }
  }

  /**
   * `length` bytes at `at` (a copy), or undefined past the end of the file. Throws what the read
   * throws (EINVAL: the file system refuses direct reads after all).
   */
  read(at: number, length: number): Buffer | undefined {
    if (length > WINDOW - DIRECT_IO_BLOCK) throw new Error(`DirectReader: ${length} bytes is more than a window`);
    const w = this.current;
    if (w && covers(w, at, length)) return Buffer.from(w.buf.subarray(at - w.at, at - w.at + length));
    // Mostly the request runs on into the window read ahead (which starts where this one ends).
    const a = this.ahead;
    if (w && a && a.length !== undefined && a.at === w.at + (w.length ?? -1) && at >= w.at && covers(a, a.at, at + length - a.at)) {
      const out = Buffer.allocUnsafe(length);
      const first = at < a.at ? w.buf.copy(out, 0, at - w.at, w.length) : 0;
      a.buf.copy(out, first, Math.max(0, at - a.at), at + length - a.at);
      this.advance(a);
      return out;
    }
    const now = this.readNow(at);
    return covers(now, at, length) ? Buffer.from(now.buf.subarray(at - now.at, at - now.at + length)) : undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A read still running on the pool closes the descriptor when it ends (the number could be reused).
    if (this.ahead && this.ahead.length === undefined) return;
    closeSync(this.fd);
  }

  /** The window read ahead becomes the current one; the next is read ahead. */
  private advance(a: Window): void {
    this.ahead = undefined;
    this.spare = this.current?.buf;
    this.current = a;
    if (a.length === WINDOW) this.readAhead(a.at + WINDOW);
  }

  /** A window at `at`, read on this thread (a jump back, the first read, or the read ahead not done). */
  private readNow(at: number): Window {
    const start = at - (at % DIRECT_IO_BLOCK);
    const buf = this.current?.buf ?? this.takeSpare();
    const w: Window = { at: start, buf, length: readSync(this.fd, buf, 0, WINDOW, start) };
    // A finished read ahead of the old position is of no use now: its buffer is free.
    if (this.ahead && this.ahead.length !== undefined) {
      this.spare = this.ahead.buf;
      this.ahead = undefined;
    }
    this.current = w;
    if (w.length === WINDOW) this.readAhead(start + WINDOW);
    return w;
  }

  private readAhead(at: number): void {
    if (this.ahead) return; // one read at a time: its buffer is busy
    const w: Window = { at, buf: this.takeSpare(), length: undefined };
    this.ahead = w;
    read(this.fd, w.buf, 0, WINDOW, at, (err, n) => {
      w.length = err ? -1 : n;
      if (this.closed && this.ahead === w) closeSync(this.fd);
    });
  }

  private takeSpare(): Buffer {
    const buf = this.spare ?? this.alloc(WINDOW);
    this.spare = undefined;
    return buf;
  }
}

function covers(w: Window, at: number, length: number): boolean {
  return w.length !== undefined && at >= w.at && at + length <= w.at + w.length;
}
