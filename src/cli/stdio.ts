/**
 * The CLI's stdout and stderr. For a pipe, Node makes process.stdout a net.Socket: the net module
 * and a pipe handle, ~2 ms of every command here (bench/README.md, "Speed, ninth round"), for
 * writes that are synchronous on Linux anyway. So a pipe or a regular file gets a Writable that
 * writes to the descriptor itself, as Node's own stream would, one write call after another, until
 * the descriptor is a full non-blocking pipe; a terminal (and anything else) gets Node's stream.
 */
import { fstatSync, writeSync } from 'node:fs';
import { Writable } from 'node:stream';

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

class FdWriter extends Writable {
  readonly isTTY = false;
  /** Node's own stream, from the first time the descriptor said EAGAIN on. */
  private node: NodeJS.WriteStream | undefined;

  constructor(readonly fd: 1 | 2) {
    super({ decodeStrings: true });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    if (this.node) {
      this.node.write(chunk, done);
      return;
    }
    let off = 0;
    try {
      while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off);
      done();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return done(e as Error); // EPIPE: main.ts quiets it
      // A non-blocking pipe (Node's child processes get those) that is full: Node's stream waits
      // for it to drain, as it would have from the start. Its errors come back through `done`.
      this.node = this.fd === 1 ? process.stdout : process.stderr;
      this.node.on('error', () => undefined);
      this.node.write(chunk.subarray(off), done);
    }
  }
}
