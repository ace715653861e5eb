/**
 * A small root-only cache of what every wharf process would otherwise work out again before its
 * first RUN: the crun probe's verdict and crun's compilation of the seccomp profile. Both cost a
 * container start or more per process (tens of ms of the first RUN).
 *
 * It is host-wide (the CLI's default is /run/wharf/runtime, cleared at each boot), not in the store root:
 * the answers depend on the host (kernel, cgroup layout, crun binary), not on a store, and a CI
 * runner or benchmark that starts every build with a fresh store root would otherwise never hit it.
 *
 * The seccomp filter is the sandbox, so nothing here is trusted on its name alone:
 * - the dir is used only when it is a real dir (not a link) owned by root with mode 0700, whose
 *   parent only root can change (or is sticky, like /tmp); anything else → no cache;
 * - an entry is opened with O_NOFOLLOW and used only when it is a regular root-owned file, not
 *   writable by others, with one link, under a size cap, whose payload matches the sha256 in its
 *   header line (a torn or altered file is ignored and written again);
 * - entries are written to a temp file and renamed into place, so readers see all or nothing.
 *
 *   const c = openHostCache(dir)              undefined: not usable, callers work without it
 *   readEntry(c, name, maxBytes) → Buffer | undefined;  writeEntry(c, name, bytes);  removeEntry(c, name)
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomHex, sha256HexOf } from '../util/index.js';

export interface HostCache {
  readonly dir: string;
}

const MAGIC = 'wharf-cache-v1';
const HEADER_BYTES = MAGIC.length + 1 + 64 + 1;

/** The cache in `dir` (made 0700 when missing), or undefined when it cannot be trusted. */
export function openHostCache(dir: string): HostCache | undefined {
  if (process.getuid?.() !== 0) return undefined; // only root's own files are trusted
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o077) !== 0) return undefined;
    const parent = lstatSync(dirname(dir));
    if (!parent.isDirectory() || parent.uid !== 0 || ((parent.mode & 0o022) !== 0 && (parent.mode & 0o1000) === 0)) return undefined;
    return { dir };
  } catch {
    return undefined;
  }
}

/** The payload of entry `name` when it is intact and trusted (see above); otherwise undefined. */
export function readEntry(cache: HostCache, name: string, maxBytes: number): Buffer | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put in its place must not hang the build (fstat then refuses it).
    fd = openSync(join(cache.dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== 0 || (st.mode & 0o022) !== 0 || st.nlink !== 1) return undefined;
    if (st.size < HEADER_BYTES || st.size > HEADER_BYTES + maxBytes) return undefined;
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) return undefined; // shrank while read
      got += n;
    }
    const header = buf.subarray(0, HEADER_BYTES).toString('latin1');
    const digest = header.slice(MAGIC.length + 1, MAGIC.length + 65);
    if (header !== `${MAGIC} ${digest}\n`) return undefined;
    const payload = buf.subarray(HEADER_BYTES);
    return sha256(payload) === digest ? payload : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes entry `name` atomically (temp file, then rename). Failures are ignored: the cache only
 * saves time. With `keep`, the entries starting with `prefix` beyond the newest `keep` are removed
 * (a kernel or crun upgrade makes new keys; the old entries would only pile up).
 */
export function writeEntry(cache: HostCache, name: string, payload: Buffer, prune?: { prefix: string; keep: number }): void {
  const tmp = join(cache.dir, `.tmp-${randomHex(6)}`);
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, Buffer.from(`${MAGIC} ${sha256(payload)}\n`, 'latin1'));
      writeSync(fd, payload);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(cache.dir, name));
  } catch {
    rmSync(tmp, { force: true });
    return;
  }
  if (prune) pruneEntries(cache, prune.prefix, prune.keep);
}

export function removeEntry(cache: HostCache, name: string): void {
  try {
    unlinkSync(join(cache.dir, name));
  } catch {
    // gone already
  }
}

function pruneEntries(cache: HostCache, prefix: string, keep: number): void {
  try {
    const entries = readdirSync(cache.dir).filter((n) => n.startsWith(prefix))
      .map((n) => ({ n, t: lstatSync(join(cache.dir, n)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { n } of entries.slice(keep)) removeEntry(cache, n);
  } catch {
    // raced with another wharf: it prunes too
  }
}

/** What identifies a binary's version without reading it: path, size, mtime, ctime, inode; undefined when missing. */
export function fileIdentity(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return `${path}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}:${st.dev}`;
  } catch {
    return undefined;
  }
}

export function sha256(data: string | Buffer): string {
  return sha256HexOf(data);
}
