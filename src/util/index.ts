/**
 * util: what every module needs and none owns — results, user errors, small fs helpers (atomic
 * write, fsync + rename, regular-file reads with a size cap), mount tables, the native addon,
 * platforms.
 */
export { ok, err, unreachable, type Result } from './result.js';
export { UserError, isUserError, type UserErrorDetail } from './user-error.js';
export { NoSpaceError, isNoSpace, sayNoSpace } from './no-space.js';
export {
  atomicWriteFile,
  fsyncAll,
  fsyncDir,
  fsyncDirSync,
  lstatQuiet,
  readdirQuiet,
  replaceFile,
  replaceFileSync,
  tempSibling,
  tempSiblingOwner,
  timeSlicer,
  S_IFMT,
  S_IFREG,
  S_IFDIR,
  S_IFLNK,
  S_IFCHR,
  S_IFBLK,
  S_IFIFO,
  S_IFSOCK,
} from './fs.js';
export { openRegularFile, readRegularFile, readRegularFileSync, type ReadRegularOptions } from './read-regular.js';
export { detachMount, mountPoints, mountsUnder } from './mounts.js';
export { DIR_STAT_FIELDS, DIRECT_IO_BLOCK, nativeAddon, nativeContainer, nativeLauncher, setNativeAddon, setNativeLauncher, type DirStats, type NativeAddon } from './native.js';
export { spawnPiped, type ChildEnd, type PipedChild } from './piped-child.js';
export { appendAll } from './arrays.js';
export { randomHex, sha256Hasher, sha256HexOf, type Sha256Hasher } from './crypto.js';
export { isoTime, nowMs } from './clock.js';
export { lazily } from './lazily.js';
export { carriedXattr, diffXattrSummaries, parseGetfattrDump, readFileXattrsSync, readXattrsOf, xattrSummary, xattrsReadInProcess, type XattrValues } from './xattrs.js';
export { compareBytewise } from './bytewise.js';
export { goQuote, goQuoteList } from './go-quote.js';
export { formatPlatform, hostPlatform, type Platform } from './platform.js';
export type { FileEntry, FileType } from './file-entry.js';
export { limiter } from './limit.js';
