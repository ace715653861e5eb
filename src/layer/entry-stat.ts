/**
 * What a layer tar needs to know of each path (an lstat), listed a directory at a time: through
 * the native addon's readDirEntries when it is there (one call per directory, statx relative to
 * it, plain numbers), else through Node's readdir and BigInt lstat, which give the same numbers.
 */
import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { nativeAddon, S_IFMT, UserError } from '../util/index.js';

export interface EntryStat {
  /** st_mode & S_IFMT. */
  readonly kind: number;
  /** st_mode & 0o7777. */
  readonly perm: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** Whole seconds. */
  readonly mtime: number;
  readonly nlink: number;
  /** st_ino in two 32-bit halves, exact for any inode number. */
  readonly inoHi: number;
  readonly inoLo: number;
  readonly devMajor: number;
  readonly devMinor: number;
  readonly rdevMajor: number;
  readonly rdevMinor: number;
  /** Birth time; 0 and 0 where the filesystem keeps none. */
  readonly btimeSec: number;
  readonly btimeNsec: number;
}

/** Same for two paths exactly when they are hard links of one file. */
export const linkKeyOf = (st: EntryStat): string => `${st.devMajor}:${st.devMinor}:${st.inoHi}:${st.inoLo}`;

/**
 * The file as `ino:birthtime`: the same only for the same file (a hard link of it), never for a
 * later file that reuses a freed inode number. '' where the filesystem keeps no birth time.
 */
export const inodeOf = (st: EntryStat): string =>
  st.btimeSec === 0 && st.btimeNsec === 0 ? '' : `${st.inoHi}.${st.inoLo}:${st.btimeSec}.${st.btimeNsec}`;

/** Numbers per entry in readDirEntries' stats, in EntryStat's order from `kind` (st_mode) on. */
export const TAR_STAT_FIELDS = 14;

export function lstatEntry(abs: string): EntryStat {
  return fromNode(lstatSync(abs, { bigint: true }));
}

/** A directory's children (names as the tar writes them, each valid UTF-8) with their lstat. */
export function listEntries(abs: string): { name: string; st: EntryStat }[] {
  const addon = nativeAddon();
  if (addon) {
    let listing;
    try {
      listing = addon.readDirEntries(abs);
    } catch (e) {
      // A name that is not UTF-8: listed again below, which names it in the error.
      if ((e as NodeJS.ErrnoException).code !== 'EILSEQ') throw Object.assign(new Error(`${(e as Error).message}: ${abs}`), { code: (e as NodeJS.ErrnoException).code });
    }
    if (listing !== undefined) return listing ? fromNative(listing[0], listing[1]) : [];
  }
  return readdirSync(abs, { encoding: 'buffer' }).map((raw) => {
    const name = raw.toString('utf8');
    if (!Buffer.from(name).equals(raw)) {
      const shown = [...raw].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
      throw new UserError('layer.bad-filename', `cannot put ${join(abs, shown)} in a layer: its name is not valid UTF-8`, 'rename the file');
    }
    return { name, st: lstatEntry(join(abs, name)) };
  });
}

function fromNative(joinedNames: string, f: Float64Array): { name: string; st: EntryStat }[] {
  const names = joinedNames.split('\0');
  const out: { name: string; st: EntryStat }[] = [];
  for (let i = 0, at = 0; at < f.length; i++, at += TAR_STAT_FIELDS) {
    const mode = f[at]!;
    out.push({
      name: names[i]!,
      st: {
        kind: mode & S_IFMT, perm: mode & 0o7777, uid: f[at + 1]!, gid: f[at + 2]!, size: f[at + 3]!, mtime: f[at + 4]!, nlink: f[at + 5]!,
        inoHi: f[at + 6]!, inoLo: f[at + 7]!, devMajor: f[at + 8]!, devMinor: f[at + 9]!, rdevMajor: f[at + 10]!, rdevMinor: f[at + 11]!,
        btimeSec: f[at + 12]!, btimeNsec: f[at + 13]!,
      },
    });
  }
  return out;
}

const major = (dev: bigint): number => Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
const minor = (dev: bigint): number => Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
/** Floor division: statx's seconds for times before 1970 too. */
const seconds = (ns: bigint): number => Number(ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n));

function fromNode(st: BigIntStats): EntryStat {
  const btime = st.birthtimeNs;
  return {
    kind: Number(st.mode) & S_IFMT, perm: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size),
    mtime: seconds(st.mtimeNs), nlink: Number(st.nlink), inoHi: Number(st.ino >> 32n), inoLo: Number(st.ino & 0xffffffffn),
    devMajor: major(st.dev), devMinor: minor(st.dev), rdevMajor: major(st.rdev), rdevMinor: minor(st.rdev),
    btimeSec: seconds(btime), btimeNsec: Number(btime - BigInt(seconds(btime)) * 1_000_000_000n),
  };
}
