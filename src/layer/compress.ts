/**
 * Layer compression: gzip through node:zlib, zstd (and, for reading, xz and bzip2) through the
 * Debian command-line tools in a child-process pipe, since Node 20 has no zstd. Reading detects the
 * format from magic bytes, never from a name or media type.
 */
import { spawn } from 'node:child_process';
import { Duplex, PassThrough, Readable, type Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UserError } from '../util/index.js';
import { parallelGzip } from './parallel-gzip.js';
import type { Compression } from './types.js';

export const MEDIA_TYPE_LAYER = 'application/vnd.oci.image.layer.v1.tar';

export function layerMediaType(c: Compression): string {
  switch (c) {
    case 'gzip':
      return `${MEDIA_TYPE_LAYER}+gzip`;
    case 'zstd':
      return `${MEDIA_TYPE_LAYER}+zstd`;
    case 'none':
      return MEDIA_TYPE_LAYER;
  }
}

/** A duplex running `cmd args`: bytes in on stdin, out on stdout; a non-zero exit is an error. */
function processPipe(cmd: string, args: string[], what: string): Duplex {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const errs: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => errs.push(c));
  const out = new PassThrough();
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (e) => reject(new UserError('layer.tool-missing', `cannot run ${cmd} for ${what}: ${e.message}`, `install the Debian package "${cmd}"`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new UserError('layer.compression', `${what} failed (${cmd} exited ${code ?? signal}): ${Buffer.concat(errs).toString().trim()}`));
    });
  });
  // Forward stdout, but end only once the process has exited cleanly, so a failure surfaces.
  child.stdout.on('data', (c: Buffer) => {
    if (!out.write(c)) {
      child.stdout.pause();
      out.once('drain', () => child.stdout.resume());
    }
  });
  child.stdout.on('end', () => exited.then(() => out.end(), (e: unknown) => out.destroy(e as Error)));
  child.stdin.on('error', () => undefined); // EPIPE when the tool died; `exited` reports why
  const duplex = Duplex.from({ writable: child.stdin, readable: out });
  duplex.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return duplex;
}

/** The compressing stage of the layer pipeline (identity for `none`). */
export function compressor(c: Compression): Transform | Duplex {
  switch (c) {
    case 'gzip':
      return parallelGzip();
    case 'zstd':
      return processPipe('zstd', ['-q', '-c', '-3', '--no-progress'], 'zstd compression');
    case 'none':
      return new PassThrough();
  }
}

export type Detected = 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'none';

/** The compression of a stream from its first bytes (at least 6 needed to tell them all apart). */
export function detectCompression(head: Buffer): Detected {
  if (head.length < 6) head = Buffer.concat([head, Buffer.alloc(6 - head.length)]);
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return 'none';
}

/** The first `n` bytes of `src` (fewer if it ends sooner) and a stream of all of it, those bytes included. */
export async function peekStream(src: Readable, n: number): Promise<{ head: Buffer; rest: Readable }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const seen: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < n && !done) {
    const r = await it.next();
    if (r.done) done = true;
    else {
      seen.push(Buffer.from(r.value));
      size += r.value.length;
    }
  }
  const head = Buffer.concat(seen);
  const rest = Readable.from(
    (async function* () {
      if (head.length) yield head;
      if (done) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    })(),
    { objectMode: false },
  );
  return { head, rest };
}

/**
 * Bytes per chunk gunzip hands on (zlib's default is 16 KiB): every chunk costs a stream hop, a
 * hash update, a tar-reader step and a file write downstream, so a pull of a 200 MB layer made
 * ~13,000 of each with the default.
 */
const INFLATE_CHUNK = 256 * 1024;

/**
 * The uncompressed bytes of `src`, whichever of gzip, zstd, xz, bzip2 or plain it is.
 */
export async function decompressed(src: Readable, what = 'the compressed data'): Promise<Readable> {
  const { head, rest: replay } = await peekStream(src, 6);
  const kind = detectCompression(head);
  if (kind === 'none') return replay;
  const stage: Duplex =
    kind === 'gzip' ? createGunzip({ chunkSize: INFLATE_CHUNK })
    : kind === 'zstd' ? processPipe('zstd', ['-d', '-q', '-c'], 'zstd decompression')
    : kind === 'xz' ? processPipe('xz', ['-d', '-q', '-c'], 'xz decompression')
    : processPipe('bzip2', ['-d', '-q', '-c'], 'bzip2 decompression');
  // The reader gets its own stream, so a zlib data error (a damaged archive or layer: `invalid
  // stored block lengths`) reaches it as a UserError naming `what`, not as a bug in wharf.
  const out = new PassThrough();
  stage.on('error', (e: NodeJS.ErrnoException) => {
    out.destroy(e.code?.startsWith('Z_') ? new UserError('layer.corrupt-gzip', `${what}: the gzip data is corrupt (${e.message})`, 'the file is damaged or truncated: make or copy it again') : e);
  });
  replay.on('error', (e) => stage.destroy(e));
  out.on('close', () => {
    stage.destroy();
    replay.destroy();
  });
  replay.pipe(stage).pipe(out);
  return out;
}
