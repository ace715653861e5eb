import { rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { applyLayer, writeLayer, type Compression } from '../layer/index.js';
import { addLayer, commitImage, imageTimestamp, scratchImage, type CommittedImage } from '../image/index.js';
import { hostPlatform, openRegularFile, sayNoSpace, UserError } from '../util/index.js';
import type { Reference, Store } from '../store/index.js';

export interface ImportOptions {
  readonly compression?: Compression;
  readonly sourceDateEpoch?: number;
  /** The history comment docker writes ("Imported from <source>"). */
  readonly source?: string;
}

/**
 * Makes a one-layer image from a rootfs tarball, as `docker import` does. The tarball is first
 * applied to a private directory with the safe applier (so a hostile archive cannot escape or
 * smuggle whiteouts), then written back as a deterministic layer.
 */
export async function importRootfs(store: Store, file: string, ref: Reference, opts: ImportOptions = {}): Promise<CommittedImage> {
  const hint = 'give the path of a rootfs tarball (.tar, .tar.gz, .tar.xz, .tar.zst)';
  if (!(await stat(file).catch(() => undefined))) throw new UserError('import.no-file', `${file}: no such file`, hint);
  // A FIFO or device there would hang or never end: only a regular file is read.
  const fh = await openRegularFile(file, { maxBytes: Number.MAX_SAFE_INTEGER, what: file });
  if ((await fh.stat()).size === 0) {
    await fh.close();
    throw new UserError('import.empty', `${file} is empty, not a tarball`, hint);
  }
  const dir = await store.tempDir('import');
  const lease = await store.lease();
  try {
    await applyLayer(fh.createReadStream(), dir, { form: 'plain' });
    const layer = await writeLayer(dir, { form: 'plain', compression: opts.compression ?? 'gzip', sourceDateEpoch: opts.sourceDateEpoch }, lease.blobs);
    const created = imageTimestamp(opts.sourceDateEpoch);
    const draft = addLayer(
      scratchImage(hostPlatform()),
      { descriptor: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, diffId: layer.diffId },
      { created, comment: `Imported from ${opts.source ?? basename(file)}` },
    );
    const image = await commitImage(lease.blobs, draft, { created });
    await store.setTag(ref, image.manifestDescriptor);
    return image;
  } catch (e) {
    throw sayNoSpace(e, `importing ${file}`, store.root);
  } finally {
    await fh.close().catch(() => undefined);
    await lease.release();
    await rm(dir, { recursive: true, force: true });
  }
}
