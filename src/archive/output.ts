/**
 * The output file of `save` and `build -o type=tar|oci|docker`: written to a temp sibling
 * (`.<name>.tmp-<pid>-<12 hex>`, util/fs.ts tempSibling) and renamed, so a failed run never leaves
 * half an archive under the final name. A run killed before the rename leaves the temp file; the
 * next output to that directory removes those of dead processes (only names of exactly this
 * pattern, only regular files, only when the pid in the name is not running).
 */
import { Writable } from 'node:stream';
import { lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pidAlive } from '../store/index.js';
import { tempSibling, UserError } from '../util/index.js';

const TEMP_NAME = /^\..+\.tmp-(\d+)-[0-9a-f]{12}$/;

async function sweepDeadTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = TEMP_NAME.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    const p = join(dir, name);
    if ((await lstat(p).catch(() => undefined))?.isFile()) await unlink(p).catch(() => undefined);
  }
}

/**
 * Where an archive goes: a file path, or a stream the caller owns (stdout for `dest=-`), which is
 * written through and never ended (the process's stdout outlives the archive).
 */
export type OutputDest = string | { readonly stream: NodeJS.WritableStream; readonly name: string };

export interface OpenedOutput {
  readonly stream: Writable;
  /** The archive is complete: rename the temp file onto its name (a stream has nothing to do). */
  publish(): Promise<void>;
  /** The archive failed: remove the temp file (a stream has what it was sent, as `docker save | …` does). */
  discard(): Promise<void>;
}

export const destName = (out: OutputDest): string => (typeof out === 'string' ? out : out.name);

/** Opens `out` for writing; a missing or unwritable directory is a clear error naming `out`. */
export async function openOutput(out: OutputDest): Promise<OpenedOutput> {
  if (typeof out !== 'string') {
    const target = out.stream;
    // Each chunk waits for the target's drain, so a slow reader slows the archive, not memory.
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (target.write(chunk)) cb();
        else target.once('drain', () => cb());
      },
    });
    return { stream, publish: async () => {}, discard: async () => {} };
  }
  await sweepDeadTemps(dirname(out));
  const tmp = tempSibling(out);
  let fh;
  try {
    fh = await open(tmp, 'wx', 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `directory ${dirname(out)} does not exist` : code === 'EACCES' || code === 'EPERM' ? `no permission to write in ${dirname(out)}` : code === 'ENOTDIR' ? `${dirname(out)} is not a directory` : (e as Error).message;
    throw new UserError('output.cannot-write', `cannot write ${out}: ${why}`, 'give an output path in an existing, writable directory');
  }
  return { stream: fh.createWriteStream(), publish: () => publishOutput(tmp, out), discard: () => unlink(tmp).catch(() => undefined) };
}

/** Renames the finished temp file onto `out`; failing that (`out` is a directory, say) is a clear error. */
async function publishOutput(tmp: string, out: string): Promise<void> {
  try {
    await rename(tmp, out);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new UserError('output.cannot-write', `cannot write ${out}: ${(e as Error).message.replace(/^[A-Z]+: /, '')}`, 'give an output path in an existing, writable directory');
  }
}
