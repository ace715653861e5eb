import { lstat, readFile, utimes, writeFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { randomHex } from '../util/index.js';

/**
 * The files `wharf bench --mode change` rewrites: each run appends a line naming the run to the
 * original content (a `#` comment, harmless in shell, Python, YAML, Dockerfiles and most configs).
 * The line carries a random token per benchmark, because the cache is content-addressed: "run 1"
 * alone would hit the records an earlier benchmark left. `restore` puts back the original bytes and times.
 */
export interface ChangedFiles {
  rewrite(run: number): Promise<void>;
  /** Idempotent; safe to call when nothing was rewritten. */
  restore(): Promise<void>;
}

interface Original {
  readonly path: string;
  readonly data: Buffer;
  /** Seconds, as utimes takes them (keeps sub-millisecond precision, unlike a Date). */
  readonly atime: number;
  readonly mtime: number;
}

/** Reads the originals; a path outside the context, missing or not a regular file is the error string. */
export async function openChangedFiles(contextDir: string, paths: readonly string[]): Promise<ChangedFiles | { error: string }> {
  const originals: Original[] = [];
  for (const p of paths) {
    const abs = resolve(contextDir, p);
    const rel = relative(contextDir, abs);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return { error: `--change ${p}: not a file inside the context ${contextDir}` };
    const st = await lstat(abs).catch(() => undefined);
    if (!st) return { error: `--change ${p}: no such file in the context ${contextDir}` };
    if (!st.isFile()) return { error: `--change ${p}: not a regular file` };
    originals.push({ path: abs, data: await readFile(abs), atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 });
  }
  let dirty = false;
  const token = randomHex(6);
  return {
    async rewrite(run) {
      dirty = true;
      for (const o of originals) {
        const sep = o.data.length === 0 || o.data[o.data.length - 1] === 0x0a ? '' : '\n';
        await writeFile(o.path, Buffer.concat([o.data, Buffer.from(`${sep}# wharf bench run ${run} (${token})\n`)]));
      }
    },
    async restore() {
      if (!dirty) return;
      for (const o of originals) {
        await writeFile(o.path, o.data);
        await utimes(o.path, o.atime, o.mtime);
      }
      dirty = false;
    },
  };
}
