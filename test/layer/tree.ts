/** Helpers for layer tests: listing trees, building tar archives entry by entry, applying them. */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { applyLayer, encodeHeader, endOfArchive, paddingFor } from '../../src/layer/index.js';
import type { DirForm } from '../../src/layer/types.js';
import type { EntryType } from '../../src/layer/tar-header.js';

/** Depth-first listing, siblings sorted, directories with a trailing slash (as go-archive lists). */
export async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(dir, prefix))).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = await lstat(join(dir, rel));
    if (st.isDirectory()) {
      out.push(`${rel}/`);
      out.push(...(await listTree(dir, rel)));
    } else out.push(rel);
  }
  return out;
}

export interface SpecEntry {
  path: string;
  type: EntryType;
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs?: Map<string, Buffer>;
}

/** A tar archive with exactly these entries, in this order (names are not checked: tests use that). */
export function makeTar(entries: readonly SpecEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.content === undefined ? Buffer.alloc(0) : Buffer.from(e.content);
    parts.push(
      encodeHeader({
        path: e.path,
        type: e.type,
        mode: e.mode ?? (e.type === 'dir' ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        size: data.length,
        mtime: e.mtime ?? 1_600_000_000,
        ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
        ...(e.xattrs ? { xattrs: e.xattrs } : {}),
      }),
    );
    if (e.type === 'file') parts.push(data, paddingFor(data.length));
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}

export async function applyBuffer(tar: Buffer, target: string, form: DirForm = 'plain'): Promise<void> {
  await applyLayer(Readable.from([tar]), target, { form });
}
