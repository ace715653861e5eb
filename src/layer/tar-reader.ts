/**
 * A streaming, bounded tar reader: yields one entry at a time with its content as an async
 * iterable that must be drained (or is skipped) before the next entry. PAX and GNU long-name
 * headers are merged into the entry they describe; oversized metadata is refused, not buffered.
 */
import type { Readable } from 'node:stream';
import { UserError } from '../util/index.js';
import { BLOCK, decodeHeader, parsePax, type EntryType, type RawHeader, type TarEntry } from './tar-header.js';

/** PAX / GNU long-name payloads above this are refused: real ones are a few KB at most. */
export const MAX_META_SIZE = 1024 * 1024;
/** Longest path or link name accepted (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

/** A tar entry as read: every field present, with the content to drain. */
export interface ReadEntry extends TarEntry {
  /** The path exactly as archived (not yet cleaned or checked). */
  readonly path: string;
  /** The mode field as archived: some writers put the file-type bits in too, so users mask it. */
  readonly mode: number;
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
  readonly xattrs: Map<string, Buffer>;
  /** The content (files only); each chunk is valid until the next one is requested. */
  readonly body: AsyncIterable<Buffer>;
}

const TYPES: Record<string, EntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo',
};

const bad = (msg: string): UserError => new UserError('layer.bad-archive', `invalid tar archive: ${msg}`);

class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  private eof = false;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async more(): Promise<boolean> {
    if (this.eof) return false;
    const r = await this.it.next();
    if (r.done) {
      this.eof = true;
      return false;
    }
    // A view of the chunk, not a copy (a layer's every byte passes here): stream chunks are fresh
    // buffers their producer does not write to again.
    const c = Buffer.isBuffer(r.value) ? r.value : Buffer.from((r.value as Uint8Array).buffer, (r.value as Uint8Array).byteOffset, (r.value as Uint8Array).byteLength);
    this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
    return true;
  }

  /** Exactly n bytes, or undefined at a clean end of input; a partial read is an error. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.buf.length < n) {
      if (!(await this.more())) {
        if (this.buf.length === 0) return undefined;
        throw bad('unexpected end of data');
      }
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.more())) throw bad('unexpected end of data inside an entry');
      const part = this.buf.subarray(0, Math.min(left, this.buf.length));
      this.buf = this.buf.subarray(part.length);
      left -= part.length;
      yield part;
    }
  }

  /** Reads to the end so a verifying source gets to check its digest. */
  async drain(): Promise<void> {
    this.buf = Buffer.alloc(0);
    while (await this.more()) this.buf = Buffer.alloc(0);
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.take(n)) void _;
  }

  /** Skips an entry's padding; false when the input ends exactly where the padding would start. */
  async skipPadding(n: number): Promise<boolean> {
    if (n > 0 && this.buf.length === 0 && !(await this.more())) return false;
    await this.skip(n);
    return true;
  }
}

const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

async function readMeta(r: ChunkReader, h: RawHeader, what: string): Promise<Buffer> {
  if (h.size > MAX_META_SIZE) throw bad(`${what} header of ${h.size} bytes is larger than the ${MAX_META_SIZE}-byte limit`);
  const data = await r.read(padded(h.size));
  if (!data) throw bad('unexpected end of data');
  return data.subarray(0, h.size);
}

function paxNumber(v: Buffer | undefined, key: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.toString('ascii'));
  if (!Number.isFinite(n) || n < 0 || (key !== 'mtime' && !Number.isSafeInteger(n))) throw bad(`invalid PAX ${key} value`);
  return n;
}

export async function* readTar(src: Readable): AsyncGenerator<ReadEntry> {
  const r = new ChunkReader(src[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  let pax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await r.read(BLOCK);
    if (!block) return; // archives without end blocks are accepted, as GNU tar does
    const d = decodeHeader(block);
    if (d.kind === 'zero') {
      // Whatever follows the end marker (record padding) is read but ignored.
      await r.drain();
      return;
    }
    if (d.kind === 'bad') throw bad(d.reason);
    const h = d.header;
    if (h.typeflag === 'x' || h.typeflag === 'g') {
      const parsed = parsePax(await readMeta(r, h, 'PAX'));
      if (!parsed) throw bad(`malformed PAX header before ${JSON.stringify(h.name)}`);
      if (h.typeflag === 'x') pax = parsed; // global headers carry nothing a layer needs
      continue;
    }
    if (h.typeflag === 'L' || h.typeflag === 'K') {
      const v = (await readMeta(r, h, 'GNU long name')).toString('utf8').replace(/\0+$/, '');
      if (h.typeflag === 'L') longName = v;
      else longLink = v;
      continue;
    }
    let type = TYPES[h.typeflag];
    if (!type) throw bad(`entry ${JSON.stringify(longName ?? h.name)} has unsupported type ${JSON.stringify(h.typeflag)}`);
    const name = pax.get('path')?.toString('utf8') ?? longName ?? h.name;
    const linkname = pax.get('linkpath')?.toString('utf8') ?? longLink ?? h.linkname;
    if (Buffer.byteLength(name) > MAX_PATH_BYTES || Buffer.byteLength(linkname) > MAX_PATH_BYTES) {
      throw bad(`entry name or link target longer than ${MAX_PATH_BYTES} bytes (${JSON.stringify(name.slice(0, 64))}...)`);
    }
    if (type === 'file' && name.endsWith('/')) type = 'dir'; // pre-POSIX directory form
    const size = paxNumber(pax.get('size'), 'size') ?? h.size;
    const xattrs = new Map<string, Buffer>();
    for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), v);
    // Only regular files carry data: links, directories, devices and FIFOs are header-only whatever
    // their size field says, as Go's archive/tar (isHeaderOnlyType) and so docker read them.
    // Skipping "data" after a device would hide the entries that follow from wharf alone.
    const dataSize = type === 'file' ? size : 0;
    let left = dataSize;
    const body: AsyncIterable<Buffer> = {
      async *[Symbol.asyncIterator]() {
        for await (const part of r.take(left)) {
          left -= part.length;
          yield part;
        }
      },
    };
    yield {
      path: name, type, linkname, xattrs, body, size: dataSize,
      mode: h.mode, uid: paxNumber(pax.get('uid'), 'uid') ?? h.uid, gid: paxNumber(pax.get('gid'), 'gid') ?? h.gid,
      mtime: paxNumber(pax.get('mtime'), 'mtime') ?? h.mtime, devmajor: h.devmajor, devminor: h.devminor,
    };
    // Skip what the consumer did not read, then the padding.
    await r.skip(left);
    // The docker CLI's classic build sends its context without the last entry's padding (nor end
    // blocks) when it adds a Dockerfile from outside the context; Go's reader, and so dockerd, take
    // input that ends right after an entry's data as the end of the archive. A partial padding is
    // still an error.
    if (!(await r.skipPadding(padded(dataSize) - dataSize))) return;
    pax = new Map();
    longName = undefined;
    longLink = undefined;
  }
}
