/**
 * Extended attributes through the `attr` tools, since Node has no xattr API. Reading walks the
 * whole tree in ONE getfattr process; writing restores all attributes in ONE setfattr process.
 * Neither dereferences symlinks.
 */
import { spawn } from 'node:child_process';
import { nativeAddon, parseGetfattrDump, UserError } from '../util/index.js';

export type Xattrs = Map<string, Buffer>;

interface RunResult {
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

function run(cmd: string, args: string[], cwd: string, input?: Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const errs: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => errs.push(c));
    child.on('error', (e) =>
      reject(new UserError('layer.xattr-tool', `cannot run ${cmd}: ${e.message}`, 'install the Debian package "attr"')),
    );
    child.on('close', (code) => resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(errs).toString(), code }));
    if (input && child.stdin) {
      child.stdin.on('error', () => undefined); // the exit status reports a tool that stopped reading
      child.stdin.end(input);
    }
  });
}

function escapeName(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b <= 0x20 || b >= 0x7f || b === 0x5c || b === 0x3d ? `\\${b.toString(8).padStart(3, '0')}` : String.fromCharCode(b);
  }
  return out;
}

/**
 * Every extended attribute under `dir`, keyed by path relative to it ('' for `dir` itself).
 * Files without attributes are absent.
 */
export async function readTreeXattrs(dir: string): Promise<Map<string, Xattrs>> {
  const native = nativeAddon();
  if (native) {
    let flat: (string | Buffer)[];
    try {
      flat = native.readTreeXattrs(dir);
    } catch (e) {
      throw new UserError('layer.xattr-read', `reading extended attributes under ${dir} failed: ${(e as Error).message}`);
    }
    const result = new Map<string, Xattrs>();
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const rel = flat[i] as string;
      let attrs = result.get(rel);
      if (!attrs) result.set(rel, (attrs = new Map()));
      attrs.set(flat[i + 1] as string, flat[i + 2] as Buffer);
    }
    return result;
  }
  const res = await run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '.'], dir);
  // getfattr exits 1 when some file had no readable attributes; only a failure with no output matters.
  if (res.code !== 0 && res.stdout.length === 0 && res.stderr.trim() !== '') {
    throw new UserError('layer.xattr-read', `reading extended attributes under ${dir} failed: ${res.stderr.trim()}`);
  }
  const result = new Map<string, Xattrs>();
  for (const [p, attrs] of parseGetfattrDump(res.stdout.toString('latin1'))) result.set(p === '.' ? '' : p.startsWith('./') ? p.slice(2) : p, attrs);
  for (const [k, v] of result) if (v.size === 0) result.delete(k);
  return result;
}

/** Sets the attributes on paths relative to `root` (which the caller has already checked). */
export async function restoreXattrs(root: string, entries: ReadonlyArray<readonly [string, Xattrs]>): Promise<void> {
  if (entries.length === 0) return;
  let dump = '';
  for (const [rel, attrs] of entries) {
    dump += `# file: ${escapeName(rel === '' ? '.' : `./${rel}`)}\n`;
    for (const [name, value] of attrs) dump += `${escapeName(name)}=0x${value.toString('hex')}\n`;
    dump += '\n';
  }
  const res = await run('setfattr', ['-h', '--restore=-'], root, Buffer.from(dump, 'latin1'));
  if (res.code !== 0) {
    throw new UserError('layer.xattr-write', `setting extended attributes failed: ${res.stderr.trim()}`);
  }
}
