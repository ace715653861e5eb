/**
 * gzip on every core: the input is cut into blocks, each compressed on the thread pool as a
 * complete gzip member, and the members are written in input order. Concatenated members are one
 * valid gzip file (RFC 1952 §2.2); zlib, Go's compress/gzip (multistream by default, as docker and
 * containerd read layers) and GNU gzip all read them as one stream. Why: one zlib stream is one
 * thread, ~25 MB/s on this project's machines, so a 500 MB layer spent ~20 s in gzip alone while
 * the tar walk and sha256 waited (bench/README.md, "Where the time goes"). Blocks of 1 MiB lose
 * almost nothing to the split (deflate's window is 32 KiB).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { lazily } from '../util/index.js';

// Made on first use, so loading this module does not load zlib (a cached build never compresses).
let gzipAsync: ((b: Buffer) => Promise<Buffer>) | undefined;

/** Bytes per member. */
export const GZIP_BLOCK = 1024 * 1024;
/** Members being compressed at once: the thread pool's default size. */
const IN_FLIGHT = 4;

/** A gzip Transform whose members are compressed on the thread pool. */
export const parallelGzip = (): Transform => new (parallelGzipClass())();

/** Declared on first use (util/lazily.ts says why). */
const parallelGzipClass = lazily(
  () =>
    class ParallelGzip extends Transform {
      private parts: Buffer[] = [];
      private size = 0;
      private members = 0;
      private readonly pending: Promise<Buffer>[] = [];

      override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        this.parts.push(chunk);
        this.size += chunk.length;
        while (this.size >= GZIP_BLOCK) this.cut(GZIP_BLOCK);
        // Backpressure: accept more input only while fewer than IN_FLIGHT blocks are compressing.
        this.emitUntil(IN_FLIGHT - 1).then(() => cb(), cb);
      }

      override _flush(cb: TransformCallback): void {
        // An empty input still makes one (empty) member: a valid gzip file, as createGzip() writes.
        if (this.size > 0 || this.members === 0) this.cut(this.size);
        this.emitUntil(0).then(() => cb(), cb);
      }

      private cut(n: number): void {
        const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
        const block = all.subarray(0, n);
        const rest = all.subarray(n);
        this.parts = rest.length ? [rest] : [];
        this.size = rest.length;
        const member = (gzipAsync ??= promisify(gzip))(block);
        member.catch(() => undefined); // awaited in order below; a failure is reported there
        this.pending.push(member);
        this.members++;
      }

      private async emitUntil(left: number): Promise<void> {
        while (this.pending.length > left) this.push(await this.pending.shift()!);
      }
    },
);
