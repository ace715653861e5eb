/**
 * A large blob written around the page cache (O_DIRECT). On this project's machines a buffered
 * write of a fresh 512 MB file and its fsync took 1.0-1.9 s, the same through O_DIRECT 0.36 s: a
 * page cache that grows pays for every page it takes (bench/README.md, "Speed, ninth round"). A
 * blob is written once and not read back soon; a later COPY that splices from it reads it around
 * the cache too (layer/tar-splice.ts).
 *
 * The blob writer (blobs.ts) writes a blob's first DIRECT_CHUNK bytes the plain way and hands
 * the rest here: a small blob costs no aligned buffer and no copy (a 1 MB one took 0.8 ms more
 * when every blob was gathered). Bytes gather in page-aligned buffers (the addon's alignedBuffer);
 * each full buffer is written at an offset that is a multiple of DIRECT_IO_BLOCK, the last one padded
 * to a block and the file then cut to its size. A file system that refuses O_DIRECT (at open, or
 * EINVAL on a write, which is then written again) gets the plain way; so do the last bytes when
 * they never fill a buffer. The caller's fsync covers both descriptors' writes.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { DIRECT_IO_BLOCK, nativeAddon } from '../util/index.js';

/** Bytes per write, and where the blob writer hands over (a blob up to this size is written the plain way). */
export const DIRECT_CHUNK = 4 << 20;
/** Buffers being written at once. */
const IN_FLIGHT = 3;

const roundUp = (n: number) => Math.ceil(n / DIRECT_IO_BLOCK) * DIRECT_IO_BLOCK;

export class DirectWriter {
  private readonly free: Buffer[] = [];
  private made = 0;
  private cur: Buffer;
  private fill = 0;
  /** Where `cur` goes in the file. */
  private at = 0;
  /** The O_DIRECT descriptor, opened at the first full buffer (null: refused). */
  private opened: FileHandle | null | undefined;
  /** Writes still go through `opened` (a write refused with EINVAL turns this off). */
  private useDirect = false;
  private readonly pending: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;
  /** The last buffer went out while writes were direct: the file is cut to size at the end. */
  private padded = false;

  private constructor(
    private readonly path: string,
    /** The caller's plain descriptor of the same file. */
    private readonly plain: FileHandle,
    private readonly alloc: (size: number) => Buffer,
    private readonly openDirect: (path: string) => Promise<FileHandle>,
    start: number,
  ) {
    if (start % DIRECT_IO_BLOCK) throw new Error(`DirectWriter: ${start} is not a block offset`);
    this.at = start;
    this.cur = this.newBuffer();
  }

  /**
   * Writes the file from `start` (a multiple of DIRECT_IO_BLOCK; the caller writes what is before it).
   * undefined without an addon that makes aligned buffers. `openDirect` is for tests: a file
   * system that refuses O_DIRECT (at open or at the first write) is not at hand on every machine.
   */
  static create(path: string, plain: FileHandle, start = 0, openDirect = openODirect): DirectWriter | undefined {
    const alloc = nativeAddon()?.alignedBuffer;
    return alloc ? new DirectWriter(path, plain, alloc, openDirect, start) : undefined;
  }

  /** Whether bytes go through O_DIRECT (for tests). */
  get direct(): boolean {
    return this.useDirect;
  }

  /** Copies `chunk` in (it may be reused once this returns); full buffers go out behind. */
  async write(chunk: Uint8Array): Promise<void> {
    this.throwFailure();
    for (let off = 0; off < chunk.length; ) {
      const n = Math.min(DIRECT_CHUNK - this.fill, chunk.length - off);
      this.cur.set(chunk.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === DIRECT_CHUNK) {
        if (this.opened === undefined) {
          this.opened = await this.openDirect(this.path).catch(() => null);
          this.useDirect = this.opened !== null;
        }
        this.send(DIRECT_CHUNK);
        this.cur = await this.nextBuffer();
      }
    }
  }

  /** Writes what is gathered and waits for every write; the file then holds exactly the bytes. */
  async finish(): Promise<void> {
    if (this.fill > 0) {
      if (this.useDirect) {
        this.cur.fill(0, this.fill, roundUp(this.fill));
        this.padded = true;
      }
      this.send(this.fill);
    }
    await this.settle();
    this.throwFailure();
    if (this.padded) await this.plain.truncate(this.at);
  }

  /** Waits for writes still running and closes the O_DIRECT descriptor (the plain one is the caller's). */
  async close(): Promise<void> {
    await this.settle();
    const fh = this.opened;
    this.opened = null;
    this.useDirect = false;
    await fh?.close();
  }

  private send(length: number): void {
    const buf = this.cur;
    const at = this.at;
    this.at += length;
    this.fill = 0;
    const p = this.writeOut(buf, length, at).then(
      () => void this.free.push(buf),
      (error: unknown) => void (this.failure ??= { error }),
    );
    this.pending.push(p);
  }

  private async writeOut(buf: Buffer, length: number, at: number): Promise<void> {
    if (this.useDirect && this.opened) {
      try {
        await writeAll(this.opened, buf, roundUp(length), at);
        return;
      } catch (e) {
        // Accepted at open, refused on write (some file systems do): the plain way from here on.
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        this.useDirect = false;
      }
    }
    await writeAll(this.plain, buf, length, at);
  }

  private async nextBuffer(): Promise<Buffer> {
    // `made` counts the one being filled: at most IN_FLIGHT others are out.
    while (this.free.length === 0 && this.made > IN_FLIGHT && this.pending.length > 0) await this.pending.shift();
    this.throwFailure();
    return this.free.pop() ?? this.newBuffer();
  }

  private newBuffer(): Buffer {
    this.made++;
    return this.alloc(DIRECT_CHUNK);
  }

  private async settle(): Promise<void> {
    await Promise.all(this.pending.splice(0));
  }

  private throwFailure(): void {
    if (this.failure) throw this.failure.error;
  }
}

const openODirect = (path: string) => open(path, constants.O_WRONLY | constants.O_DIRECT);

async function writeAll(fh: FileHandle, buf: Buffer, length: number, at: number): Promise<void> {
  for (let off = 0; off < length; ) off += (await fh.write(buf, off, length - off, at + off)).bytesWritten;
}
