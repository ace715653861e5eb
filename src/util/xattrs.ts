/**
 * Extended attributes of single files, for what COPY reads from the build context: the native
 * addon's llistxattr/lgetxattr when it is there, else ONE getfattr process for a batch of paths.
 * Symlinks are never followed.
 */
import { spawn } from 'node:child_process';
import { compareBytewise } from './bytewise.js';
import { sha256HexOf } from './crypto.js';
import { nativeAddon } from './native.js';
import { UserError } from './user-error.js';

/** Name → raw value. */
export type XattrValues = Map<string, Buffer>;

/**
 * The attributes a COPY carries into its layer and keys on, as Docker's does for what users set:
 * user.* and file capabilities. security.selinux and the like are the build host's labels, and
 * trusted.* is overlayfs bookkeeping.
 */
export const carriedXattr = (name: string): boolean => name.startsWith('user.') || name === 'security.capability';

/** Paths per getfattr process (argv stays far below ARG_MAX). */
const GETFATTR_BATCH = 1000;

/** Whether one path's attributes can be read without a process (the addon has readFileXattrs). */
export const xattrsReadInProcess = (): boolean => typeof nativeAddon()?.readFileXattrs === 'function';

/** One path's attributes through the addon; undefined when there is no addon to ask. */
export function readFileXattrsSync(path: string): XattrValues | undefined {
  const native = nativeAddon();
  if (typeof native?.readFileXattrs !== 'function') return undefined;
  let flat: (string | Buffer)[];
  try {
    flat = native.readFileXattrs(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new UserError('xattr.read', `reading extended attributes of ${path} failed: ${(e as Error).message}`);
  }
  const out: XattrValues = new Map();
  for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i] as string, flat[i + 1] as Buffer);
  return out;
}

/** The attributes of each path that has any (absent: none), keyed by the path as given. */
export async function readXattrsOf(paths: readonly string[]): Promise<Map<string, XattrValues>> {
  const out = new Map<string, XattrValues>();
  if (xattrsReadInProcess()) {
    for (const p of paths) {
      const x = readFileXattrsSync(p)!;
      if (x.size) out.set(p, x);
    }
    return out;
  }
  for (let i = 0; i < paths.length; i += GETFATTR_BATCH) {
    const batch = paths.slice(i, i + GETFATTR_BATCH);
    const res = await getfattr(batch);
    for (const [p, x] of parseGetfattrDump(res)) if (x.size) out.set(p, x);
  }
  return out;
}

function getfattr(paths: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', ...paths], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const errs: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => errs.push(c));
    child.on('error', (e) => reject(new UserError('xattr.tool', `cannot run getfattr: ${e.message}`, 'install the Debian package "attr"')));
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('latin1');
      // Exit 1 also means some path had nothing readable; only a failure with no output matters.
      const stderr = Buffer.concat(errs).toString().trim();
      if (code !== 0 && stdout === '' && stderr && !/No such file|Operation not supported/.test(stderr)) {
        reject(new UserError('xattr.read', `reading extended attributes failed: ${stderr}`));
      } else resolve(stdout);
    });
  });
}

/** getfattr writes bytes outside printable ASCII (and backslash) as `\ooo`. */
function unescapeGetfattrName(s: string): string {
  const raw = Buffer.from(s, 'latin1');
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else bytes.push(raw[i]!);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `getfattr -d -e hex` output (read as latin1), by the file names it prints. */
export function parseGetfattrDump(text: string): Map<string, XattrValues> {
  const result = new Map<string, XattrValues>();
  let current: XattrValues | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = new Map();
      result.set(unescapeGetfattrName(line.slice(8)), current);
    } else if (current && line.includes('=')) {
      const eq = line.indexOf('=');
      const value = line.slice(eq + 1);
      current.set(unescapeGetfattrName(line.slice(0, eq)), value.startsWith('0x') ? Buffer.from(value.slice(2), 'hex') : Buffer.from(value.replace(/^"|"$/g, ''), 'latin1'));
    }
  }
  return result;
}

/** Values shown in a miss explanation: short printable text, never under security.* (a digest stands in). */
const SHOWN_VALUE = /^[\x20-\x7e]{0,64}$/;

/**
 * The carried attributes as one line for digests and explanations ('' when none): sorted
 * `name=value` pairs joined by ',', names and values URI-encoded (so no ',', '=', tab or newline);
 * a value is `v` + its text when it may be shown, else `h` + 128 bits of its sha256.
 */
export function xattrSummary(x: ReadonlyMap<string, Buffer> | undefined): string {
  if (!x) return '';
  const parts: string[] = [];
  for (const name of [...x.keys()].filter(carriedXattr).sort(compareBytewise)) {
    const v = x.get(name)!;
    const text = v.toString('latin1');
    const repr = !name.startsWith('security.') && SHOWN_VALUE.test(text) ? `v${encodeURIComponent(text)}` : `h${sha256HexOf(v).slice(0, 32)}`;
    parts.push(`${encodeURIComponent(name)}=${repr}`);
  }
  return parts.join(',');
}

/** What differs between two summaries, e.g. `user.note added`, `user.tag changed ("a" → "b")`. */
export function diffXattrSummaries(before: string, after: string): string[] {
  const parse = (s: string) => new Map(s ? s.split(',').map((p) => { const eq = p.indexOf('='); return [decodeURIComponent(p.slice(0, eq)), p.slice(eq + 1)] as const; }) : []);
  const [a, b] = [parse(before), parse(after)];
  const out: string[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort(compareBytewise)) {
    const [x, y] = [a.get(name), b.get(name)];
    if (x === y) continue;
    if (x === undefined) out.push(`${name} added`);
    else if (y === undefined) out.push(`${name} removed`);
    else if (x.startsWith('v') && y.startsWith('v')) out.push(`${name} changed (${JSON.stringify(decodeURIComponent(x.slice(1)))} → ${JSON.stringify(decodeURIComponent(y.slice(1)))})`);
    else out.push(`${name} changed`);
  }
  return out;
}
