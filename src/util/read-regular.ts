import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { UserError } from './user-error.js';

/**
 * Reading a file that an image, a context or an archive put there, where wharf expects a regular
 * file: a FIFO there would block a synchronous read forever (Ctrl-C included), a device such as
 * /dev/zero would be read until the process is OOM-killed, and a symlink would read the host.
 * So the file is opened with O_NONBLOCK (a FIFO opens at once) and O_NOFOLLOW, checked with fstat
 * to be a regular file, and read no further than `maxBytes`.
 */
export interface ReadRegularOptions {
  /** Refuse a file larger than this. */
  readonly maxBytes: number;
  /** How the error names the file to the user ("/etc/passwd in the image", "config blob …"). */
  readonly what?: string;
  /** Also follow a symlink as the last component (for paths the caller already resolved safely). */
  readonly followSymlink?: boolean;
}

// Node opens every descriptor close-on-exec already.
const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function typeName(mode: number): string {
  switch (mode & constants.S_IFMT) {
    case constants.S_IFDIR: return 'a directory';
    case constants.S_IFIFO: return 'a FIFO';
    case constants.S_IFCHR: return 'a character device';
    case constants.S_IFBLK: return 'a block device';
    case constants.S_IFSOCK: return 'a socket';
    case constants.S_IFLNK: return 'a symlink';
    default: return 'not a regular file';
  }
}

function refuse(path: string, opts: ReadRegularOptions, why: string): UserError {
  return new UserError('fs.not-regular', `${opts.what ?? path}: ${why}`, 'wharf reads only regular files here; replace it with a regular file');
}

function openError(path: string, opts: ReadRegularOptions, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return refuse(path, opts, 'is a symlink');
  return e;
}

/** The whole file, if it is a regular file of at most `maxBytes`; otherwise a UserError naming it. */
export function readRegularFileSync(path: string, opts: ReadRegularOptions): Buffer {
  let fd: number;
  try {
    fd = openSync(path, FLAGS | (opts.followSymlink ? 0 : constants.O_NOFOLLOW));
  } catch (e) {
    throw openError(path, opts, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refuse(path, opts, `is ${typeName(st.mode)}`);
    if (st.size > opts.maxBytes) throw refuse(path, opts, `is ${st.size} bytes, more than the ${opts.maxBytes} allowed`);
    // Read up to one byte past the cap: a file that grew after fstat is still refused.
    const buf = Buffer.allocUnsafe(Math.min(st.size, opts.maxBytes) + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n === buf.length) break;
    }
    if (n > opts.maxBytes) throw refuse(path, opts, `is more than the ${opts.maxBytes} bytes allowed`);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The async form of readRegularFileSync, for large reads off the main thread. */
export async function readRegularFile(path: string, opts: ReadRegularOptions): Promise<Buffer> {
  const fh = await openRegularFile(path, opts);
  try {
    const { size } = await fh.stat();
    const buf = Buffer.allocUnsafe(Math.min(size, opts.maxBytes) + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) break;
    }
    if (n > opts.maxBytes) throw refuse(path, opts, `is more than the ${opts.maxBytes} bytes allowed`);
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/**
 * The file opened for streaming (a large layer), after the same checks as readRegularFile: a
 * FileHandle on a regular file, or a UserError naming it. `maxBytes` still caps its size.
 */
export async function openRegularFile(path: string, opts: ReadRegularOptions): Promise<FileHandle> {
  let fh;
  try {
    fh = await open(path, FLAGS | (opts.followSymlink ? 0 : constants.O_NOFOLLOW));
  } catch (e) {
    throw openError(path, opts, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw refuse(path, opts, `is ${typeName(st.mode)}`);
    if (st.size > opts.maxBytes) throw refuse(path, opts, `is ${st.size} bytes, more than the ${opts.maxBytes} allowed`);
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}
