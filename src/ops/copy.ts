import { chmod, copyFile, lchown, lstat, mkdir, open, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { selectSources, hasGlobMeta, type ContextEntry } from '../context/index.js';
import { applyLayer } from '../layer/index.js';
import type { CopyInstruction } from '../instructions/index.js';
import { resolveInRoot, resolveUser } from '../runtime/index.js';
import { UserError } from '../util/index.js';
import type { Vertex } from '../plan/index.js';

/** One path to copy, relative to the source root it belongs to ('' is the root itself). */
export interface SourceItem {
  readonly rel: string;
  readonly abs: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  readonly mode: number;
  readonly linkTarget?: string;
}

/** A matched COPY source: a directory's contents are copied, anything else is copied by name. */
export interface SourceRoot {
  readonly name: string;
  readonly items: readonly SourceItem[];
}

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export function unsupportedCopyFlags(v: Vertex): void {
  const ins = v.instruction as CopyInstruction;
  const no = (what: string) => new UserError('build.unsupported', `${v.label}: ${what} is not supported yet`);
  if (ins.contents.length > 0 && ins.sources.length > 0) throw no('mixing heredoc and file sources');
  if (ins.contents.length > 0 && ins.kind === 'ADD') throw no('ADD with a heredoc (use COPY)');
  if (ins.parents) throw no('--parents');
  if (ins.exclude.length > 0) throw no('--exclude');
  if (ins.kind === 'ADD' && ins.sources.some((s) => /^[a-z]+:\/\//i.test(s.value))) throw no('ADD from a URL');
  if (ins.chmod && !/^[0-7]{3,4}$/.test(ins.chmod.value)) throw new UserError('build.bad-chmod', `${v.label}: --chmod=${ins.chmod.value} is not an octal mode`, 'write --chmod=644 (symbolic modes are not supported yet)');
}

/** Every context entry the sources bring in (the tree digest's input); a missing source is an error. */
export function contextSelection(entries: readonly ContextEntry[], sources: readonly string[], label: string): ContextEntry[] {
  const sel = selectSources(entries, sources);
  if (!sel.ok) throw new UserError('build.bad-source', `${label}: ${sel.error.message}`);
  const missing = sel.value.find((s) => s.roots.length === 0);
  if (missing) throw new UserError('build.source-not-found', `${label}: "${missing.source}" not found in the build context`, 'check the path and the .dockerignore file');
  return sel.value.flatMap((s) => s.entries);
}

/** COPY sources from the build context (the ignore file already applied by the walk). */
export function contextRoots(contextDir: string, entries: readonly ContextEntry[], sources: readonly string[], label: string): SourceRoot[] {
  const sel = selectSources(entries, sources);
  if (!sel.ok) throw new UserError('build.bad-source', `${label}: ${sel.error.message}`);
  const out: SourceRoot[] = [];
  for (const s of sel.value) {
    if (s.roots.length === 0) throw new UserError('build.source-not-found', `${label}: "${s.source}" not found in the build context`, 'check the path and the .dockerignore file');
    for (const r of s.roots) {
      const base = r.entry?.path;
      const inside = base === undefined ? entries : entries.filter((e) => e.path === base || e.path.startsWith(base + '/'));
      const items = inside.map((e) => ({
        rel: base === undefined ? e.path : e.path.slice(base.length + 1),
        abs: join(contextDir, e.path),
        type: e.type,
        mode: e.mode,
        ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
      }));
      if (base === undefined) items.unshift({ rel: '', abs: contextDir, type: 'dir', mode: 0o755 });
      out.push({ name: basename(r.path), items });
    }
  }
  return out;
}

/** COPY --from=<stage> sources: literal paths in the other stage's tree (a named symlink is followed). */
export async function treeRoots(rootfs: string, sources: readonly string[], label: string): Promise<SourceRoot[]> {
  const out: SourceRoot[] = [];
  for (const src of sources) {
    if (hasGlobMeta(src)) throw new UserError('build.unsupported', `${label}: wildcards in COPY --from sources are not supported yet`);
    const abs = await resolveInRoot(rootfs, src);
    const st = await lstat(abs).catch(() => undefined);
    if (!st) throw new UserError('build.source-not-found', `${label}: "${src}" not found in the source stage`);
    const items: SourceItem[] = [];
    const visit = async (p: string, rel: string): Promise<void> => {
      const s = await lstat(p);
      const type = s.isDirectory() ? 'dir' : s.isFile() ? 'file' : s.isSymbolicLink() ? 'symlink' : 'other';
      items.push({ rel, abs: p, type, mode: s.mode & 0o7777, ...(type === 'symlink' ? { linkTarget: await readlink(p) } : {}) });
      if (type === 'dir') for (const n of (await readdir(p)).sort()) await visit(join(p, n), rel ? `${rel}/${n}` : n);
    };
    await visit(abs, '');
    out.push({ name: posix.basename(posix.normalize('/' + src)) || '/', items });
  }
  return out;
}

/** `--chown`: numeric `uid[:gid]` (gid defaults to uid) or names from the image's passwd/group. */
export async function resolveOwner(rootfs: string, chown: string | undefined): Promise<Owner> {
  if (!chown) return { uid: 0, gid: 0 };
  const [u = '', g] = chown.split(':');
  if (/^\d+$/.test(u) && (g === undefined || /^\d+$/.test(g))) return { uid: Number(u), gid: Number(g ?? u) };
  const r = await resolveUser(rootfs, chown);
  return { uid: r.uid, gid: r.gid };
}

/** Creates missing directories along `path` inside rootfs (owned by `owner`); returns the host path. */
export async function mkdirInRoot(rootfs: string, path: string, owner: Owner): Promise<string> {
  let cur = '';
  for (const part of path.split('/').filter((p) => p && p !== '.')) {
    cur = `${cur}/${part}`;
    const host = await resolveInRoot(rootfs, cur);
    const st = await lstat(host).catch(() => undefined);
    if (st?.isDirectory()) continue;
    if (st) throw new UserError('build.not-a-directory', `${cur} exists in the image and is not a directory`);
    await mkdir(host, { mode: 0o755 });
    await chmod(host, 0o755);
    await lchown(host, owner.uid, owner.gid);
  }
  return resolveInRoot(rootfs, path);
}

const ARCHIVE_MAGIC: readonly Buffer[] = [Buffer.from([0x1f, 0x8b]), Buffer.from('BZh'), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])];

/** ADD's archive test by content: a gzip/bzip2/xz stream, or a plain tar (`ustar` at 257). */
async function isArchive(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (ARCHIVE_MAGIC.some((m) => bytesRead >= m.length && buf.subarray(0, m.length).equals(m))) return true;
    return bytesRead >= 262 && buf.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await fh.close();
  }
}

export interface CopyOptions {
  readonly dest: string;
  /** Dest written with a trailing `/` (or `.`): always a directory. */
  readonly destIsDir: boolean;
  readonly owner: Owner;
  readonly chmod?: number;
  /** ADD: local archives are extracted into the destination. */
  readonly extract: boolean;
  readonly label: string;
}

/** Copies matched sources into the merged tree at `rootfs` with Docker's COPY rules. */
export async function copyRoots(rootfs: string, roots: readonly SourceRoot[], o: CopyOptions): Promise<void> {
  if (roots.length > 1 && !o.destIsDir) {
    throw new UserError('build.dest-not-dir', `${o.label}: with more than one source the destination must be a directory and end with a /`);
  }
  for (const root of roots) {
    const top = root.items[0]!;
    if (top.type === 'dir') {
      const dir = await mkdirInRoot(rootfs, o.dest, o.owner);
      await writeItems(dir, root.items.slice(1), o);
      continue;
    }
    if (o.extract && top.type === 'file' && (await isArchive(top.abs))) {
      const dir = await mkdirInRoot(rootfs, o.dest, o.owner);
      // An archive is not a layer: `.wh.*` names in it are ordinary files (as docker's ADD keeps them).
      await applyLayer(createReadStream(top.abs), dir, { form: 'plain', whiteouts: 'literal' });
      continue;
    }
    const existing = await lstat(await resolveInRoot(rootfs, o.dest)).catch(() => undefined);
    const target = o.destIsDir || existing?.isDirectory() ? posix.join(o.dest, root.name) : o.dest;
    await mkdirInRoot(rootfs, posix.dirname(target), o.owner);
    const host = join(await resolveInRoot(rootfs, posix.dirname(target)), posix.basename(target));
    await writeItem(host, top, o);
  }
}

/**
 * Files copied at once. Each is ~6 thread-pool round trips (lstat, copyFile, chmod, lchown, lstat,
 * utimes); one at a time, a 2,500-file COPY spent 4.3 s waiting on them (bench/README.md).
 */
const COPY_PARALLEL = 16;

async function writeItems(dir: string, items: readonly SourceItem[], o: CopyOptions): Promise<void> {
  const dirs: [string, SourceItem][] = [];
  // Directories are made in order (a parent before its children: items come depth-first); files
  // and symlinks overlap, each under a directory that exists by the time it is started.
  const inflight = new Set<Promise<void>>();
  let failed: { error: unknown } | undefined;
  for (const it of items) {
    if (failed) break;
    const host = join(dir, it.rel);
    if (it.type === 'dir') {
      await writeItem(host, it, o);
      dirs.push([host, it]);
      continue;
    }
    const p: Promise<void> = writeItem(host, it, o).then(
      () => void inflight.delete(p),
      (error: unknown) => {
        inflight.delete(p);
        failed ??= { error };
      },
    );
    inflight.add(p);
    if (inflight.size >= COPY_PARALLEL) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  if (failed) throw failed.error;
  // Directory mtimes last: writing their contents moved them.
  for (const [host, it] of dirs.reverse()) {
    const st = await lstat(it.abs);
    await utimes(host, st.atime, st.mtime);
  }
}

async function writeItem(host: string, it: SourceItem, o: CopyOptions): Promise<void> {
  const existing = await lstat(host).catch(() => undefined);
  if (it.type === 'dir') {
    // A directory the image already has keeps its owner and mode.
    if (existing?.isDirectory()) return;
    if (existing) await rm(host, { recursive: true, force: true });
    await mkdir(host);
    await chmod(host, o.chmod ?? it.mode);
    await lchown(host, o.owner.uid, o.owner.gid);
    return;
  }
  if (existing) await rm(host, { recursive: true, force: true });
  if (it.type === 'symlink') {
    await symlink(it.linkTarget ?? '', host);
    await lchown(host, o.owner.uid, o.owner.gid);
    return;
  }
  if (it.type !== 'file') return;
  await copyFile(it.abs, host);
  await chmod(host, o.chmod ?? it.mode);
  await lchown(host, o.owner.uid, o.owner.gid);
  const st = await lstat(it.abs);
  await utimes(host, st.atime, st.mtime);
}

/** `COPY <<EOF /dest`: each heredoc becomes a file named after its delimiter (mode 0644 unless --chmod). */
export async function copyInline(rootfs: string, files: readonly { name: string; data: string }[], o: CopyOptions): Promise<void> {
  if (files.length > 1 && !o.destIsDir) {
    throw new UserError('build.dest-not-dir', `${o.label}: with more than one source the destination must be a directory and end with a /`);
  }
  for (const f of files) {
    const existing = await lstat(await resolveInRoot(rootfs, o.dest)).catch(() => undefined);
    const target = o.destIsDir || existing?.isDirectory() ? posix.join(o.dest, f.name) : o.dest;
    await mkdirInRoot(rootfs, posix.dirname(target), o.owner);
    const host = join(await resolveInRoot(rootfs, posix.dirname(target)), posix.basename(target));
    await rm(host, { recursive: true, force: true });
    await writeFile(host, f.data);
    await chmod(host, o.chmod ?? 0o644);
    await lchown(host, o.owner.uid, o.owner.gid);
  }
}
