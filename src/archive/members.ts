/**
 * Members of an archive to load, read as tar entries, never through links the archive made. A
 * member that manifest.json / index.json names must be a regular file inside the archive: a
 * symlink to /etc/passwd, a `blobs -> /host/dir`, a device or a FIFO there is refused with a
 * message naming the member. Only regular files (and the directories above them) are extracted to
 * the private temp dir; other entries are remembered, never made. Relative symlinks and hard links
 * that stay inside the archive are followed there (docker save before 25 links a layer shared by two
 * images as `<id>/layer.tar -> ../<other>/layer.tar`). An OCI layout directory given as is follows
 * the same rule on disk: no component may be a symlink, the member must be a regular file.
 */
import { constants, type ReadStream } from 'node:fs';
import { lstat, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { decompressed, readTar, type ReadEntry } from '../layer/index.js';
import { openRegularFile, readRegularFile, UserError } from '../util/index.js';

export interface ArchiveMembers {
  /** Whether the archive has an entry of that name, of any type (`read` then says what is wrong with it). */
  has(name: string): Promise<boolean>;
  /** A regular file member's bytes, refused above `maxBytes`. */
  read(name: string, maxBytes: number): Promise<Buffer>;
  /** A regular file member as a stream. */
  open(name: string): Promise<ReadStream>;
}

export const badArchive = (input: string, why: string): UserError =>
  new UserError('load.bad-archive', `${input}: ${why}`, 'give an archive written by `wharf save`, `docker save` or `skopeo copy` (oci-archive: or docker-archive:), or an OCI layout directory');

const MAX_HOPS = 40;

/** Lexically cleaned components of a member name; `..` above the top or an absolute name is refused. */
function clean(input: string, name: unknown, from = ''): string[] {
  if (typeof name !== 'string' || name === '') throw badArchive(input, `member name ${JSON.stringify(name)} is not a path`);
  if (name.startsWith('/') || name.includes('\0')) throw badArchive(input, `member ${JSON.stringify(from || name)} leaves the archive (${JSON.stringify(name)})`);
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c !== '..') out.push(c);
    else if (!out.pop()) throw badArchive(input, `member ${JSON.stringify(from || name)} leaves the archive (${JSON.stringify(name)})`);
  }
  return out;
}

type Kind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
interface Member { readonly kind: Kind; readonly link?: string }

const describe: Record<Kind, string> = {
  file: 'a regular file', dir: 'a directory', symlink: 'a symlink', hardlink: 'a hard link',
  char: 'a character device', block: 'a block device', fifo: 'a FIFO',
};

/** Extracts `stream`'s regular files into `dir` (a fresh private dir) and answers for its members. */
export async function extractMembers(stream: Readable, dir: string, input: string): Promise<ArchiveMembers> {
  const members = new Map<string, Member>();
  const tar = await decompressed(stream, input);
  try {
    for await (const e of readTar(tar)) {
      const parts = clean(input, e.path);
      if (!parts.length) continue;
      const key = parts.join('/');
      for (let i = 1; i < parts.length; i++) {
        const above = members.get(parts.slice(0, i).join('/'));
        if (above && above.kind !== 'dir') throw badArchive(input, `member ${JSON.stringify(e.path)} lies under ${JSON.stringify(parts.slice(0, i).join('/'))}, which is ${describe[above.kind]}`);
        if (!above) members.set(parts.slice(0, i).join('/'), { kind: 'dir' });
      }
      const prev = members.get(key);
      if (prev?.kind === 'dir' && e.type !== 'dir') throw badArchive(input, `member ${JSON.stringify(e.path)} replaces a directory`);
      const abs = join(dir, ...parts);
      if (e.type === 'dir' && prev && prev.kind !== 'dir') throw badArchive(input, `directory member ${JSON.stringify(e.path)} replaces ${describe[prev.kind]}`);
      await placeMember(e, abs, dir, parts).catch((err: unknown) => {
        // A name the file system cannot hold (ENAMETOOLONG, EILSEQ) is the archive's fault; a full disk is not.
        if (err instanceof UserError || !(err instanceof Error && 'code' in err) || err.code === 'ENOSPC') throw err;
        throw badArchive(input, `member ${JSON.stringify(e.path)} cannot be unpacked: ${err.code as string}`);
      });
      members.set(key, { kind: e.type, ...(e.type === 'symlink' || e.type === 'hardlink' ? { link: e.linkname } : {}) });
    }
  } finally {
    tar.destroy();
  }

  /** The cleaned path of the regular file `name` leads to, following links inside the archive. */
  function resolve(name: string): string {
    const todo = clean(input, name).reverse();
    const at: string[] = [];
    let hops = 0;
    while (todo.length) {
      const c = todo.pop()!;
      if (c === '..') {
        if (!at.pop()) throw badArchive(input, `member ${JSON.stringify(name)} leads outside the archive through a symlink`);
        continue;
      }
      at.push(c);
      const m = members.get(at.join('/'));
      if (!m) throw badArchive(input, `member ${JSON.stringify(name)} is missing from the archive`);
      if (m.kind === 'symlink' || m.kind === 'hardlink') {
        if (++hops > MAX_HOPS) throw badArchive(input, `member ${JSON.stringify(name)}: too many levels of links`);
        if (m.link!.startsWith('/')) throw badArchive(input, `member ${JSON.stringify(name)} is ${describe[m.kind]} to ${JSON.stringify(m.link)}, outside the archive`);
        at.pop();
        // A hard link names its target from the archive's top, a symlink from its own directory.
        if (m.kind === 'hardlink') at.length = 0;
        todo.push(...m.link!.split('/').filter((x) => x !== '' && x !== '.').reverse());
        continue;
      }
      if (todo.length && m.kind !== 'dir') throw badArchive(input, `member ${JSON.stringify(name)} is missing from the archive (${JSON.stringify(at.join('/'))} is ${describe[m.kind]})`);
      if (!todo.length && m.kind !== 'file') throw badArchive(input, `member ${JSON.stringify(name)} is ${describe[m.kind]}, not a regular file`);
    }
    if (!at.length) throw badArchive(input, `member ${JSON.stringify(name)} is the archive's top directory, not a regular file`);
    return join(dir, ...at);
  }
  return fileMembers(resolve, async (name) => members.has(clean(input, name).join('/')), input);
}

/** An OCI layout directory's members: every component lstat()ed, no symlink followed. */
export function layoutMembers(dir: string, input: string): ArchiveMembers {
  return fileMembers(async (name) => {
    const parts = clean(input, name);
    for (let i = 1; i <= parts.length; i++) {
      const p = join(dir, ...parts.slice(0, i));
      const st = await lstat(p).catch(() => undefined);
      if (!st) throw badArchive(input, `member ${JSON.stringify(name)} is missing from the layout`);
      if (st.isSymbolicLink()) throw badArchive(input, `member ${JSON.stringify(name)}: ${JSON.stringify(parts.slice(0, i).join('/'))} is a symlink, which an OCI layout directory is not read through`);
      if (i < parts.length ? !st.isDirectory() : !st.isFile()) throw badArchive(input, `member ${JSON.stringify(parts.slice(0, i).join('/'))} is not a ${i < parts.length ? 'directory' : 'regular file'}`);
    }
    return join(dir, ...parts);
  }, async (name) => (await lstat(join(dir, ...clean(input, name))).catch(() => undefined)) !== undefined, input);
}

function fileMembers(resolve: (name: string) => string | Promise<string>, has: (name: string) => Promise<boolean>, input: string): ArchiveMembers {
  const what = (name: string) => `${input}: member ${JSON.stringify(name)}`;
  return {
    has,
    async read(name, maxBytes) {
      return readRegularFile(await resolve(name), { maxBytes, what: what(name) });
    },
    async open(name) {
      const fh = await openRegularFile(await resolve(name), { maxBytes: Number.MAX_SAFE_INTEGER, what: what(name) });
      return fh.createReadStream();
    },
  };
}

/** Writes one tar entry into the private dir: a regular file's bytes, a directory, or nothing. */
async function placeMember(e: ReadEntry, abs: string, dir: string, parts: readonly string[]): Promise<void> {
  if (e.type === 'dir') {
    await mkdir(abs, { recursive: true, mode: 0o700 });
    return;
  }
  await rm(abs, { force: true });
  if (e.type !== 'file') return;
  await mkdir(join(dir, ...parts.slice(0, -1)), { recursive: true, mode: 0o700 });
  const fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    for await (const chunk of e.body) await fh.write(chunk);
  } finally {
    await fh.close();
  }
}
