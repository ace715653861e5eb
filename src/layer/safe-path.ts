/**
 * Path handling for the applier: archive names are cleaned lexically (as BuildKit and moby do) and
 * every parent directory is resolved component by component INSIDE the target, treating the
 * target as `/` for absolute symlinks. Anything that would leave the target is an error naming
 * the entry; nothing is ever followed out.
 */
import { lstatSync } from 'node:fs';
import { mkdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/index.js';

const MAX_SYMLINK_HOPS = 40;

export const unsafe = (entry: string, why: string): UserError =>
  new UserError('layer.unsafe-entry', `refusing layer entry ${JSON.stringify(entry)}: ${why}`, 'the archive is damaged or malicious; nothing was written outside the target');

/** Components of an archive path, cleaned; errors if absolute or if `..` climbs above the root. */
export function cleanArchivePath(name: string, entry: string = name): string[] {
  if (name.startsWith('/')) throw unsafe(entry, 'absolute paths are not allowed in a layer');
  if (name.includes('\0')) throw unsafe(entry, 'path contains a NUL byte');
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw unsafe(entry, 'path leads outside the target with ".."');
      out.pop();
    } else out.push(c);
  }
  return out;
}

export interface Resolved {
  /** Absolute path on disk (every component a real directory inside the root). */
  readonly abs: string;
  /** The same location as components relative to the root. */
  readonly rel: readonly string[];
}

/**
 * Resolves directory components inside `root` (an absolute, symlink-free path), following
 * symlinks only within it. With `create`, missing directories are made (mode 0755) and reported
 * through `onCreate`; without it, a missing component gives undefined.
 */
export async function resolveDir(
  root: string,
  components: readonly string[],
  entry: string,
  create: boolean,
  onCreate?: (rel: string) => void,
): Promise<Resolved | undefined> {
  const rel: string[] = [];
  const todo = [...components].reverse(); // a stack: the next component is at the end
  let hops = 0;
  while (todo.length > 0) {
    const c = todo.pop()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (rel.length === 0) throw unsafe(entry, 'its path leads outside the target through a symlink');
      rel.pop();
      continue;
    }
    const abs = join(root, ...rel, c);
    // Synchronous: microseconds in the dentry cache, where a thread-pool round trip per component
    // of every entry was most of a 10,000-file context's unpack (bench/README.md).
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (st === undefined) {
      if (!create) return undefined;
      await mkdir(abs, { mode: 0o755 });
      rel.push(c);
      onCreate?.(rel.join('/'));
    } else if (st.isDirectory()) {
      rel.push(c);
    } else if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) throw unsafe(entry, 'too many levels of symbolic links');
      const target = await readlink(abs);
      if (target.startsWith('/')) rel.length = 0; // absolute links are relative to the image root
      todo.push(...target.split('/').reverse());
    } else {
      throw new UserError('layer.not-a-directory', `layer entry ${JSON.stringify(entry)}: ${rel.concat(c).join('/')} is not a directory`);
    }
  }
  return { abs: join(root, ...rel), rel };
}
