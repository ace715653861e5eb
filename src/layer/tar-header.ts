/**
 * The tar header format, both directions: a deterministic ustar+PAX encoder (only the fields a
 * layer needs: no uname/gname, no atime/ctime) and a bounded decoder for ustar, PAX and GNU
 * long-name headers. Pure functions over Buffers; the streaming lives in tar-writer/tar-reader.
 */
import type { FileEntry, FileType } from '../util/index.js';

export const BLOCK = 512;

/** The entry kinds a tar header can say (typeflags 0–6). */
export type EntryType = Exclude<FileType, 'other'>;

export interface TarEntry extends FileEntry<EntryType> {
  /** Relative path without a trailing slash (directories get theirs when encoded). */
  readonly path: string;
  /** Seconds since the epoch (integer when written by us; may be fractional when read). */
  readonly mtime: number;
  /** Symlink target or hard-link source path. */
  readonly linkname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
  /** Extended attributes (SCHILY.xattr.*), name → raw value. */
  readonly xattrs?: ReadonlyMap<string, Buffer>;
}

const TYPEFLAG: Record<EntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

/** Largest value an 11-digit octal field holds; beyond it the value goes into PAX. */
const MAX_OCTAL_11 = 0o77777777777;
const MAX_OCTAL_7 = 0o7777777;

function writeString(buf: Buffer, offset: number, len: number, s: string): void {
  buf.write(s, offset, len, 'utf8');
}

function writeOctal(buf: Buffer, offset: number, len: number, n: number): void {
  // len-1 zero-padded digits then NUL, as Go's archive/tar and GNU tar write them; digit by digit,
  // without a string (eight fields a header, 50,000 headers for a tree of that many files).
  buf[offset + len - 1] = 0;
  for (let i = offset + len - 2; i >= offset; i--) {
    buf[i] = 48 + (n % 8);
    n = Math.floor(n / 8);
  }
}

function paxRecord(key: string, value: Buffer): Buffer {
  // "<len> <key>=<value>\n" where len counts the whole record including its own digits.
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), body]);
}

/** Zero bytes after `n` bytes of content, up to the next block. */
export function padToBlock(n: number): number {
  return (BLOCK - (n % BLOCK)) % BLOCK;
}

function ustarBlock(name: string, typeflag: string, e: {
  mode: number; uid: number; gid: number; size: number; mtime: number; linkname: string; devmajor: number; devminor: number;
}): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(b, 0, 100, name);
  writeOctal(b, 100, 8, e.mode & 0o7777);
  writeOctal(b, 108, 8, e.uid);
  writeOctal(b, 116, 8, e.gid);
  writeOctal(b, 124, 12, e.size);
  writeOctal(b, 136, 12, e.mtime);
  b.write('        ', 148, 8, 'ascii');
  b.write(typeflag, 156, 1, 'ascii');
  writeString(b, 157, 100, e.linkname);
  b.write('ustar\0' + '00', 257, 8, 'ascii');
  writeOctal(b, 329, 8, e.devmajor);
  writeOctal(b, 337, 8, e.devminor);
  let sum = 0;
  // Indexed: for...of goes through the iterator protocol, 512 steps a header (~2 µs of each).
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  // Six digits and NUL; the field's eighth byte keeps the blank written above.
  writeOctal(b, 148, 7, sum);
  return b;
}

/**
 * Encodes the header block(s) of one entry: a PAX extended header first when a field does not fit
 * ustar (long path or link, big ids or size) or the entry has xattrs. Records are sorted so the
 * bytes depend only on the entry. The caller writes `size` bytes of content and `paddingFor(size)`.
 */
export function encodeHeader(e: TarEntry): Buffer {
  const name = e.type === 'dir' ? `${e.path}/` : e.path;
  const linkname = e.linkname ?? '';
  const size = e.type === 'file' ? e.size : 0;
  const mtime = Math.max(0, Math.floor(e.mtime));
  const pax = new Map<string, Buffer>();
  if (Buffer.byteLength(name) > 100) pax.set('path', Buffer.from(name));
  if (Buffer.byteLength(linkname) > 100) pax.set('linkpath', Buffer.from(linkname));
  if (e.uid > MAX_OCTAL_7) pax.set('uid', Buffer.from(String(e.uid)));
  if (e.gid > MAX_OCTAL_7) pax.set('gid', Buffer.from(String(e.gid)));
  if (size > MAX_OCTAL_11) pax.set('size', Buffer.from(String(size)));
  if (mtime > MAX_OCTAL_11) pax.set('mtime', Buffer.from(String(mtime)));
  for (const [k, v] of e.xattrs ?? []) pax.set(`SCHILY.xattr.${k}`, v);

  const main = ustarBlock(truncateUtf8(name, 100), TYPEFLAG[e.type], {
    mode: e.mode,
    uid: e.uid > MAX_OCTAL_7 ? 0 : e.uid,
    gid: e.gid > MAX_OCTAL_7 ? 0 : e.gid,
    size: size > MAX_OCTAL_11 ? 0 : size,
    mtime: mtime > MAX_OCTAL_11 ? 0 : mtime,
    linkname: truncateUtf8(linkname, 100),
    devmajor: e.devmajor ?? 0,
    devminor: e.devminor ?? 0,
  });
  if (pax.size === 0) return main;

  const records = Buffer.concat([...pax.keys()].sort().map((k) => paxRecord(k, pax.get(k)!)));
  const base = e.path.split('/').pop() ?? '';
  const paxHeader = ustarBlock(truncateUtf8(`PaxHeaders.0/${base}`, 100), 'x', {
    mode: 0o644, uid: 0, gid: 0, size: records.length, mtime, linkname: '', devmajor: 0, devminor: 0,
  });
  return Buffer.concat([paxHeader, records, Buffer.alloc(padToBlock(records.length)), main]);
}

function truncateUtf8(s: string, max: number): string {
  const b = Buffer.from(s);
  if (b.length <= max) return s;
  // Cut on a character boundary; PAX carries the full value.
  let end = max;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString();
}

export const paddingFor = (size: number): Buffer => Buffer.alloc(padToBlock(size));
/** Two zero blocks end an archive. */
export const endOfArchive = (): Buffer => Buffer.alloc(2 * BLOCK);

// ---- decoding ----

/** The raw fields of one header block, before PAX / GNU long names are merged in. */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}

export type DecodeResult = { kind: 'header'; header: RawHeader } | { kind: 'zero' } | { kind: 'bad'; reason: string };

function readString(b: Buffer, offset: number, len: number): string {
  const field = b.subarray(offset, offset + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

function readNumber(b: Buffer, offset: number, len: number): number | undefined {
  const field = b.subarray(offset, offset + len);
  if (field[0]! & 0x80) {
    // GNU base-256: big-endian binary after the marker bit. Reject negative or > 2^53.
    if (field[0]! & 0x40) return undefined;
    let n = field[0]! & 0x3f;
    for (let i = 1; i < len; i++) {
      n = n * 256 + field[i]!;
      if (n > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return n;
  }
  const s = field.toString('ascii').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return undefined;
  return parseInt(s, 8);
}

export function decodeHeader(b: Buffer): DecodeResult {
  if (b.every((x) => x === 0)) return { kind: 'zero' };
  const stored = readNumber(b, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  if (stored === undefined || (stored !== unsigned && stored !== signed)) return { kind: 'bad', reason: 'header checksum mismatch' };
  const fields = { mode: readNumber(b, 100, 8), uid: readNumber(b, 108, 8), gid: readNumber(b, 116, 8), size: readNumber(b, 124, 12), mtime: readNumber(b, 136, 12), devmajor: readNumber(b, 329, 8), devminor: readNumber(b, 337, 8) };
  for (const [k, v] of Object.entries(fields)) if (v === undefined) return { kind: 'bad', reason: `invalid ${k} field` };
  let name = readString(b, 0, 100);
  const magic = b.subarray(257, 263).toString('latin1');
  if (magic === 'ustar\0') {
    const prefix = readString(b, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  return {
    kind: 'header',
    header: {
      name,
      typeflag: String.fromCharCode(b[156]!),
      linkname: readString(b, 157, 100),
      mode: fields.mode!, uid: fields.uid!, gid: fields.gid!, size: fields.size!, mtime: fields.mtime!,
      devmajor: fields.devmajor!, devminor: fields.devminor!,
    },
  };
}

/** Parses PAX records; undefined if malformed. Values stay raw bytes (xattrs are binary). */
export function parsePax(data: Buffer): Map<string, Buffer> | undefined {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad with NULs
    const space = data.indexOf(0x20, pos);
    if (space === -1 || space - pos > 12) return undefined;
    const len = Number(data.subarray(pos, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= space - pos + 1 || pos + len > data.length) return undefined;
    const rec = data.subarray(space + 1, pos + len);
    if (rec[rec.length - 1] !== 0x0a) return undefined;
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) return undefined;
    out.set(rec.subarray(0, eq).toString('utf8'), rec.subarray(eq + 1, rec.length - 1));
    pos += len;
  }
  return out;
}
