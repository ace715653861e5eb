// Implementations of import, save and load, loaded lazily by their command modules.
import { resolve } from 'node:path';
import { sha256Hex } from '../hash/index.js';
import { parseTagName } from '../image/index.js';
import { openApiStore as openCliStore, parseSourceDateEpoch } from '../api/index.js';
import { UserError } from '../util/index.js';
import type { CliContext } from './context.js';
import type { Store } from '../store/index.js';

const sourceDateEpoch = (ctx: CliContext): number | undefined => parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH);

export async function importCmd(ctx: CliContext, root: string, file: string, name: string, opts: { compression: string }): Promise<number> {
  if (opts.compression !== 'gzip' && opts.compression !== 'zstd') {
    throw new UserError('cli.bad-flag', `--compression ${opts.compression} is not supported`, 'use --compression gzip or --compression zstd');
  }
  const ref = parseTagName(name, 'wharf import FILE');
  const { importRootfs } = await import('../archive/index.js');
  const store = await openCliStore(root);
  const img = await importRootfs(store, resolve(ctx.cwd, file), ref, { compression: opts.compression, sourceDateEpoch: sourceDateEpoch(ctx) });
  ctx.stdout.write(`sha256:${sha256Hex(img.id)}\n`);
  await unpackLayers(store, root, [name]);
  return 0;
}

export async function saveCmd(ctx: CliContext, root: string, names: string[], out: string | undefined): Promise<number> {
  if (!out) throw new UserError('cli.missing-output', 'wharf save needs an output file', 'pass -o FILE, e.g. wharf save -o app.tar app:1');
  const { saveImages } = await import('../archive/index.js');
  const store = await openCliStore(root);
  const r = await saveImages(store, names, resolve(ctx.cwd, out));
  ctx.stderr.write(`saved ${r.images} image(s), ${r.blobs} blobs, ${r.bytes} bytes to ${out}\n`);
  return 0;
}

export async function loadCmd(ctx: CliContext, root: string, input: string | undefined, tag: string | undefined): Promise<number> {
  if (!input) throw new UserError('cli.missing-input', 'wharf load needs an input archive', 'pass -i FILE, e.g. wharf load -i app.tar');
  // Checked before the store is opened, as before.
  if (tag) parseTagName(tag, '-t');
  const { openStore } = await import('../api/index.js');
  const loaded = await (await openStore(root)).load(resolve(ctx.cwd, input), tag);
  for (const name of loaded) ctx.stdout.write(`Loaded image: ${name}\n`);
  return 0;
}

/**
 * Unpacks loaded or imported images' layers into snapshots now, as `docker load` extracts layers
 * into its storage driver, so the first build or run on the image starts at once: unpacking the
 * busybox base was ~250 ms of a cold 0.95 s `app` build's first step, where BuildKit starts from
 * layers docker load already extracted. Best effort: an image for another platform, or a layer
 * that cannot be unpacked here (whiteouts need root), is unpacked when first used, as before.
 */
async function unpackLayers(store: Store, root: string, names: readonly string[]): Promise<void> {
  const { openSnapshots } = await import('../snapshot/index.js');
  const { loadImage } = await import('../image/index.js');
  const snapshots = openSnapshots(root, store);
  for (const n of names) {
    try {
      const img = await loadImage(store, n);
      await snapshots.prepare(img.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: img.config.rootfs.diff_ids[i]! })));
    } catch {
      // see above: unpacked on first use
    }
  }
}
