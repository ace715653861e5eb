// Implementations of import, save and load, loaded lazily by their command modules.
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { sha256Hex } from '../hash/index.js';
import { parseTagName } from '../image/index.js';
import { openStore, parseSourceDateEpoch } from '../api/index.js';
import { UserError } from '../util/index.js';
import type { CliContext } from './context.js';

const sourceDateEpoch = (ctx: CliContext): number | undefined => parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH);

export async function importCmd(ctx: CliContext, root: string, file: string, name: string, opts: { compression: string }): Promise<number> {
  if (opts.compression !== 'gzip' && opts.compression !== 'zstd') {
    throw new UserError('cli.bad-flag', `--compression ${opts.compression} is not supported`, 'use --compression gzip or --compression zstd');
  }
  // Checked first, so the message names this command.
  parseTagName(name, 'wharf import FILE');
  const sde = sourceDateEpoch(ctx);
  const id = await (await openStore(root)).import(resolve(ctx.cwd, file), name, { compression: opts.compression, ...(sde !== undefined ? { sourceDateEpoch: sde } : {}) });
  ctx.stdout.write(`sha256:${sha256Hex(id)}\n`);
  return 0;
}

/** Without -o (or with `-o -`) the archive goes to stdout, as `docker save` does; never to a terminal. */
export async function saveCmd(ctx: CliContext, root: string, names: string[], out: string | undefined): Promise<number> {
  const toStdout = out === undefined || out === '-';
  if (toStdout) refuseTerminal(ctx.stdout, 'wharf save', 'pass -o FILE, or pipe it: wharf save app:1 | gzip > app.tar.gz');
  const r = await (await openStore(root)).save(names, toStdout ? { stream: ctx.stdout, name: 'stdout' } : resolve(ctx.cwd, out));
  if (!toStdout) ctx.stderr.write(`saved ${r.images} image(s), ${r.blobs} blobs, ${r.bytes} bytes to ${out}\n`);
  return 0;
}

/** An archive written to stdout: refused when stdout is a terminal (it would fill the screen with tar). */
export function refuseTerminal(stdout: { isTTY?: boolean }, what: string, hint: string): void {
  if (stdout.isTTY) throw new UserError('cli.stdout-is-terminal', `${what}: refusing to write an archive to a terminal`, hint);
}

/** Without -i (or with `-i -`) the archive is read from stdin, as `docker load` does. */
export async function loadCmd(ctx: CliContext, root: string, input: string | undefined, tag: string | undefined, stdin: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin): Promise<number> {
  const fromStdin = input === undefined || input === '-';
  if (fromStdin && stdin.isTTY) throw new UserError('cli.missing-input', 'wharf load: no archive given and stdin is a terminal', 'pass -i FILE, or pipe one in: wharf load < app.tar');
  // Checked before the store is opened, as before.
  if (tag) parseTagName(tag, '-t');
  const loaded = await (await openStore(root)).load(fromStdin ? { stream: stdin as Readable, name: 'stdin' } : resolve(ctx.cwd, input), tag);
  for (const name of loaded) ctx.stdout.write(`Loaded image: ${name}\n`);
  return 0;
}
