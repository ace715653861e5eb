// Implementations of import, save and load, loaded lazily by their command modules.
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
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

/** Without -o (or with `-o -`) the archive goes to stdout, as `docker save` does; never to a terminal. */
export async function saveCmd(ctx: CliContext, root: string, names: string[], out: string | undefined): Promise<number> {
  const toStdout = out === undefined || out === '-';
  if (toStdout) refuseTerminal(ctx.stdout, 'wharf save', 'pass -o FILE, or pipe it: wharf save app:1 | gzip > app.tar.gz');
  const { saveImages } = await import('../archive/index.js');
  const store = await openCliStore(root);
  const r = await saveImages(store, names, toStdout ? { stream: ctx.stdout, name: 'stdout' } : resolve(ctx.cwd, out));
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
  const { openStore } = await import('../api/index.js');
  const loaded = await (await openStore(root)).load(fromStdin ? { stream: stdin as Readable, name: 'stdin' } : resolve(ctx.cwd, input), tag);
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
