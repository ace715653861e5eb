import { readRegularFileSync, UserError } from '../util/index.js';
import { resolveInRootSync } from './in-root.js';

/** A user as the OCI runtime wants it: numbers only. */
export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups: the groups of /etc/group that list the user by name. */
  readonly additionalGids: readonly number[];
  /** The passwd home directory, for a default HOME; `/` when the user has no entry. */
  readonly home: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

const NUMERIC = /^[0-9]+$/;

/**
 * Reads /etc/passwd or /etc/group of an image some other way than through a rootfs dir (a step
 * that writes straight into an upper dir reads them through the lower dirs): the text, '' when the
 * file is absent.
 */
export type UserFiles = (path: '/etc/passwd' | '/etc/group') => string;

/**
 * Resolves Docker's USER forms against the rootfs's /etc/passwd and /etc/group, as Docker does:
 * a name must exist; a bare uid without a passwd entry runs with gid 0; `user` alone takes the
 * primary group from passwd.
 */
export async function resolveUser(rootfs: string | UserFiles, user: string | undefined): Promise<ResolvedUser> {
  const spec = user?.trim() ?? '';
  if (spec === '') {
    // An image without a root entry still runs as root; a passwd that cannot be read safely
    // (a FIFO, a device) is still an error, not a silent fallback.
    return resolveUser(rootfs, 'root').catch((e: unknown) => {
      if (e instanceof UserError && e.code === 'runtime.user-unknown') return { uid: 0, gid: 0, additionalGids: [], home: '/root' };
      throw e;
    });
  }
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : spec.slice(colon + 1);

  const passwd = await readDb(rootfs, '/etc/passwd', parsePasswd);
  const groups = await readDb(rootfs, '/etc/group', parseGroup);

  const entry = NUMERIC.test(userPart)
    ? passwd.find((p) => p.uid === Number(userPart))
    : passwd.find((p) => p.name === userPart);
  if (!entry && !NUMERIC.test(userPart)) {
    throw new UserError('runtime.user-unknown', `unable to find user ${userPart}: no matching entries in passwd file`,
      'use a numeric uid, or create the user in an earlier step');
  }
  const uid = entry ? entry.uid : Number(userPart);

  let gid: number;
  if (groupPart === undefined || groupPart === '') {
    gid = entry ? entry.gid : 0;
  } else if (NUMERIC.test(groupPart)) {
    gid = Number(groupPart);
  } else {
    const g = groups.find((x) => x.name === groupPart);
    if (!g) {
      throw new UserError('runtime.group-unknown', `unable to find group ${groupPart}: no matching entries in group file`,
        'use a numeric gid, or create the group in an earlier step');
    }
    gid = g.gid;
  }
  // Supplementary groups only when no group was named, as Docker does for USER name.
  const additionalGids = entry && groupPart === undefined
    ? [...new Set(groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid))]
    : [];
  return { uid, gid, additionalGids, home: entry?.home || '/' };
}

/** Larger than any real passwd or group file; a bigger one is refused rather than read into memory. */
const MAX_DB_BYTES = 32 * 1024 * 1024;

async function readDb<T>(rootfs: string | UserFiles, path: '/etc/passwd' | '/etc/group', parse: (text: string) => T[]): Promise<T[]> {
  if (typeof rootfs === 'function') return parse(rootfs(path));
  // Synchronous: two small files per RUN (passwd, group), read where the thread pool costs more.
  // The image chose what is at this path: resolved inside the root, then opened without blocking
  // (a FIFO would hang wharf, /dev/zero would be read until it runs out of memory).
  const host = resolveInRootSync(rootfs, path);
  let text = '';
  try {
    text = readRegularFileSync(host, { maxBytes: MAX_DB_BYTES, what: `${path} in the image` }).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
  }
  return parse(text);
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (line.startsWith('#') || f.length < 7 || !NUMERIC.test(f[2]!) || !NUMERIC.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (line.startsWith('#') || f.length < 4 || !NUMERIC.test(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}
