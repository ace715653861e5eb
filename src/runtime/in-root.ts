import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { lstatQuiet, UserError } from '../util/index.js';

/** As Linux's MAXSYMLINKS: more links than this on one path is a loop (ELOOP). */
const MAX_LINKS = 40;

/** A path whose symlinks never end (ELOOP), named as the caller sees it: `what` says what the path is (a mount target, a COPY destination). */
export function symlinkLoop(path: string, what = ''): UserError {
  return new UserError(
    'fs.symlink-loop', `${what ? `${what} ` : ''}${path}: too many levels of symbolic links (more than ${MAX_LINKS}: a symlink loop in the image)`,
    'fix or remove the symlinks on that path in the image, or choose another path',
  );
}

/**
 * Resolves `path` inside `root` as the container would see it: symlinks (absolute or relative) are
 * followed relative to `root`, and `..` never climbs above it. Without this, an image whose
 * /etc/passwd is a symlink to `/../../host/file` would make the host read a file of the image's
 * choosing. Returns the host path (the last component may not exist).
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  return resolveInRootSync(root, path);
}

/**
 * resolveInRoot in synchronous calls: a lookup per path component, microseconds each, where the
 * thread pool costs a round trip each (every RUN resolves its mount points and /etc/passwd).
 */
export function resolveInRootSync(root: string, path: string): string {
  let pending = path.split('/').filter((c) => c !== '' && c !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '..') {
      resolved.pop();
      continue;
    }
    const host = join(root, ...resolved, name);
    const st = lstatQuiet(host);
    if (st?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw symlinkLoop(path);
      const target = readlinkSync(host);
      if (target.startsWith('/')) resolved.length = 0;
      pending = [...target.split('/').filter((c) => c !== '' && c !== '.'), ...pending];
      continue;
    }
    resolved.push(name);
  }
  return join(root, ...resolved);
}
