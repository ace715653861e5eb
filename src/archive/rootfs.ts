import { mkdir, readdir, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { LoadedImage } from '../image/index.js';
import { applyLayer, layerTarStream } from '../layer/index.js';
import type { BlobStore } from '../store/index.js';
import { UserError } from '../util/index.js';
import { openOutput, type OutputDest } from './output.js';

/**
 * An image's filesystem as a plain tree (`--output type=local`) or one tar of it
 * (`--output type=tar`): its layers applied in order, whiteouts resolved.
 */
export async function exportRootfs(blobs: BlobStore, img: Pick<LoadedImage, 'manifest'>, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  if ((await readdir(dest)).length > 0) throw new UserError('export.dest-not-empty', `${dest} is not empty`, 'give --output a new or empty directory');
  for (const l of img.manifest.layers) await applyLayer(blobs.openRead(l.digest, l.size), dest, { form: 'plain' });
}

export async function exportRootfsTar(blobs: BlobStore, img: Pick<LoadedImage, 'manifest'>, out: OutputDest, scratch: string): Promise<void> {
  const tree = `${scratch}/rootfs`;
  const opened = await openOutput(out);
  let published = false;
  try {
    await exportRootfs(blobs, img, tree);
    await pipeline(layerTarStream(tree, { form: 'plain' }), opened.stream);
    await opened.publish();
    published = true;
  } finally {
    await rm(tree, { recursive: true, force: true });
    if (!published) await opened.discard();
  }
}
