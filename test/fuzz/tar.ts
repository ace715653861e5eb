/**
 * A tar reader and writer for the archive fuzzer, on purpose with no checks: entries of any type,
 * names with `..`, header sizes that do not match the data. (The product's tar code refuses such
 * things, so the fuzzer cannot use it to make them.)
 */
export interface RawEntry {
  name: string;
  /** The typeflag character: '0' file, '1' hardlink, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo, 'x' PAX… */
  type: string;
  mode: number;
  linkname: string;
  data: Buffer;
  /** The size written in the header when it should differ from data.length. */
  sizeOverride?: number;
  devmajor?: number;
  devminor?: number;
}

const BLOCK = 512;

function octal(buf: Buffer, off: number, len: number, value: number): void {
  const s = Math.max(0, Math.floor(value)).toString(8);
  if (s.length <= len - 1) {
    buf.write(s.padStart(len - 1, '0'), off, 'ascii');
    return;
  }
  // Base-256 (GNU): the high bit of the first byte set, the value big-endian.
  buf[off] = 0x80;
  let v = BigInt(Math.floor(value));
  for (let i = off + len - 1; i > off; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function header(name: string, e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, 1_600_000_000);
  h.write(e.type.slice(0, 1) || '0', 156, 1, 'latin1');
  h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\x0000', 257, 8, 'latin1');
  octal(h, 329, 8, e.devmajor ?? 0);
  octal(h, 337, 8, e.devminor ?? 0);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

const pad = (n: number) => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`);
}

export function writeTar(entries: readonly RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (Buffer.byteLength(e.name) > 100 || Buffer.byteLength(e.linkname) > 100) {
      const pax = Buffer.concat([paxRecord('path', e.name), ...(Buffer.byteLength(e.linkname) > 100 ? [paxRecord('linkpath', e.linkname)] : [])]);
      parts.push(header('PaxHeaders/x', { name: '', type: 'x', mode: 0o644, linkname: '', data: pax }, pax.length), pax, pad(pax.length));
    }
    parts.push(header(e.name, e, e.sizeOverride ?? e.data.length), e.data, pad(e.data.length));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

const str = (b: Buffer, off: number, len: number) => {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z < 0 ? s : s.subarray(0, z)).toString('utf8');
};

/** Reads the entries of a well-formed ustar/PAX archive (what `wharf save` writes); PAX paths are applied. */
export function readTar(tar: Buffer): RawEntry[] {
  const out: RawEntry[] = [];
  let off = 0;
  let paxPath: string | undefined;
  while (off + BLOCK <= tar.length) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const size = parseInt(str(h, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(h[156]!) === '\0' ? '0' : String.fromCharCode(h[156]!);
    const prefix = str(h, 345, 155);
    const data = tar.subarray(off + BLOCK, off + BLOCK + size);
    off += BLOCK + size + ((BLOCK - (size % BLOCK)) % BLOCK);
    if (type === 'x') {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      paxPath = m?.[1];
      continue;
    }
    const name = paxPath ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    paxPath = undefined;
    out.push({ name, type, mode: parseInt(str(h, 100, 8).trim() || '644', 8), linkname: str(h, 157, 100), data: Buffer.from(data) });
  }
  return out;
}
