/**
 * The CLI's stdout and stderr. For a pipe, Node makes process.stdout a net.Socket: the net module
 * and a pipe handle, ~2 ms of every command here (bench/README.md, "Speed, ninth round"), for
 * writes that are synchronous on Linux anyway. So a pipe or a regular file gets a writer that
 * writes to the descriptor itself, as Node's own stream would, one write call after another, until
 * the descriptor is a full non-blocking pipe; a terminal (and anything else) gets Node's stream.
 * The writer is an EventEmitter with a stream's write side, not a node:stream Writable: loading
 * node:stream is ~0.9 ms of a command that streams nothing (a build of file steps; bench/README.md,
 * "Speed, eleventh round"). What pipes an archive into it goes through archive/output.ts's
 * Writable, which only calls write() and waits for 'drain'.
 */
import { EventEmitter } from 'node:events';
import { fstatSync, writeSync } from 'node:fs';

type Done = (e?: Error | null) => void;

/** Node's stream for `fd`, or a descriptor writer when it is a pipe, a socket or a regular file. */
export function outputStream(fd: 1 | 2): NodeJS.WriteStream {
  let plain = false;
  try {
    const st = fstatSync(fd);
    plain = st.isFIFO() || st.isSocket() || st.isFile();
  } catch {
    // closed or odd: Node's stream knows what to do
  }
  if (!plain) return fd === 1 ? process.stdout : process.stderr;
  return new FdWriter(fd) as unknown as NodeJS.WriteStream;
}

class FdWriter extends EventEmitter {
  readonly isTTY = false;
  readonly writable = true;
  /** Node's own stream, from the first time the descriptor said EAGAIN on. */
  private node: NodeJS.WriteStream | undefined;

  constructor(readonly fd: 1 | 2) {
    super();
  }

  /** What waits to be written: only ever Node's stream's backlog (the descriptor's writes are synchronous). */
  get writableLength(): number {
    return this.node?.writableLength ?? 0;
  }

  /** As Writable.write: false while Node's stream has a backlog ('drain' follows); `done` is called after. */
  write(chunk: string | Uint8Array, encoding?: BufferEncoding | Done, done?: Done): boolean {
    const cb = typeof encoding === 'function' ? encoding : done;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk;
    if (this.node) return this.node.write(bytes, cb);
    let off = 0;
    try {
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') {
        // As a Writable reports a failed write: the callback, then 'error' (EPIPE: main.ts quiets it).
        process.nextTick(() => {
          cb?.(e as Error);
          this.emit('error', e);
        });
        return false;
      }
      // A non-blocking pipe (Node's child processes get those) that is full: Node's stream waits
      // for it to drain, as it would have from the start; its errors and drains are this writer's.
      const node = (this.node = this.fd === 1 ? process.stdout : process.stderr);
      node.on('error', (err) => this.emit('error', err));
      node.on('drain', () => this.emit('drain'));
      return node.write(bytes.subarray(off), cb);
    }
    if (cb) process.nextTick(cb);
    return true;
  }

  /** The descriptor outlives the command: ending writes what is given and closes nothing. */
  end(chunk?: string | Uint8Array | Done, done?: Done): this {
    const cb = typeof chunk === 'function' ? chunk : done;
    if (chunk !== undefined && typeof chunk !== 'function') this.write(chunk);
    process.nextTick(() => {
      this.emit('finish');
      cb?.();
    });
    return this;
  }
}
