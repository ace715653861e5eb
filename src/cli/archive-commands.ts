// Implementations of import, save and load, loaded lazily by their command modules.
import { resolve } from 'node:path';
import { sha256Hex } from '../hash/digest.js';
import { parseImageName } from '../image/index.js';
import { openCliStore } from './open-store.js';
import { UserError } from '../util/user-error.js';
import type { CliContext } from './context.js';
import { parseSourceDateEpoch } from './source-date-epoch.js';

const sourceDateEpoch = (ctx: CliContext): number | undefined => parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH);

export async function importCmd(ctx: CliContext, root: string, file: string, name: string, opts: { compression: string }): Promise<number> {
  if (opts.compression !== 'gzip' && opts.compression !== 'zstd') {
    throw new UserError('cli.bad-flag', `--compression ${opts.compression} is not supported`, 'use --compression gzip or --compression zstd');
  }
  const ref = parseImageName(name);
  const { importRootfs } = await import('../archive/import.js');
  const store = await openCliStore(root);
  const img = await importRootfs(store, resolve(ctx.cwd, file), ref, { compression: opts.compression, sourceDateEpoch: sourceDateEpoch(ctx) });
  ctx.stdout.write(`sha256:${sha256Hex(img.id)}\n`);
  return 0;
}

export async function saveCmd(ctx: CliContext, root: string, names: string[], out: string | undefined): Promise<number> {
  if (!out) throw new UserError('cli.missing-output', 'wharf save needs an output file', 'pass -o FILE, e.g. wharf save -o app.tar app:1');
  const { saveImages } = await import('../archive/save.js');
  const store = await openCliStore(root);
  const r = await saveImages(store, names, resolve(ctx.cwd, out));
  ctx.stderr.write(`saved ${r.images} image(s), ${r.blobs} blobs, ${r.bytes} bytes to ${out}\n`);
  return 0;
}

export async function loadCmd(ctx: CliContext, root: string, input: string | undefined, tag: string | undefined): Promise<number> {
  if (!input) throw new UserError('cli.missing-input', 'wharf load needs an input archive', 'pass -i FILE, e.g. wharf load -i app.tar');
  const name = tag ? parseImageName(tag) : undefined;
  const { loadArchive } = await import('../archive/load.js');
  const store = await openCliStore(root);
  for (const e of await loadArchive(store, resolve(ctx.cwd, input), name)) ctx.stdout.write(`Loaded image: ${e.name}\n`);
  return 0;
}
