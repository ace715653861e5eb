/**
 * Layer commit: directory → deterministic tar → (sha256 = diff_id) and → compressor → blob store,
 * all in one pass over the tree. The blob writer computes the compressed digest as it writes.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../store/index.js';
import { compressor, decompressed, layerMediaType } from './compress.js';
import { tarDirectory } from './tar-writer.js';
import type { Compression, LayerResult, LayerWriteOptions } from './types.js';
import { checkDiffId, diffIdMismatch, hashTap } from './verify.js';
import type { Sha256 } from '../hash/index.js';
import type { UserError } from '../util/index.js';

/** The uncompressed, deterministic tar of `dir` as a stream (for exporters that want plain tar). */
export function layerTarStream(dir: string, opts: Pick<LayerWriteOptions, 'form' | 'sourceDateEpoch' | 'xattrs' | 'reuse'>): Readable {
  return Readable.from(tarDirectory(dir, opts), { objectMode: false });
}

/**
 * Where a layer goes: a blob writer, and `putBytes` (when there is one) for a plain tar small
 * enough to be stored in one synchronous write. Any BlobStore (or a bare sink in a benchmark) will do.
 */
export type LayerSink = Pick<BlobStore, 'writer'> & Partial<Pick<BlobStore, 'putBytes'>>;

/** A plain tar up to this size is gathered and stored with putBytes (store/blobs.ts SMALL_WRITE). */
const SMALL_TAR = 256 * 1024;

export async function writeLayer(dir: string, opts: LayerWriteOptions, blobs: LayerSink): Promise<LayerResult> {
  const { reuse, ...tarOpts } = opts;
  // Tar offsets are blob offsets only when the blob is the tar itself. A plain tar is read
  // straight from the generator: a Readable around it cost more than a small layer's whole tar.
  if (opts.compression === 'none') return storePlain(tarDirectory(dir, reuse ? { ...tarOpts, reuse } : tarOpts), blobs);
  return storeTar(layerTarStream(dir, tarOpts), opts.compression, blobs);
}

/**
 * Stores an existing tar (gzip, zstd, xz, bzip2 or plain; detected from content) as a layer blob
 * in `compression`, its bytes unchanged, as `docker import` and `docker load` keep them: diff_id
 * is the sha256 of the uncompressed tar. Nothing is extracted or checked here; the applier checks
 * every entry when the layer is unpacked. With `expect`, a tar whose diff_id differs is refused
 * before its blob is committed (nothing is stored).
 */
export async function writeLayerFromTar(src: Readable, compression: Compression, blobs: LayerSink, expect?: { readonly diffId: string; readonly what: string }): Promise<LayerResult> {
  return storeTar(await decompressed(src, expect?.what), compression, blobs, expect);
}

async function storeTar(tar: Readable, compression: Compression, blobs: LayerSink, expect?: { readonly diffId: string; readonly what: string }): Promise<LayerResult> {
  if (compression === 'none') return storePlain(tar, blobs, expect);
  const writer = await blobs.writer();
  try {
    const tap = hashTap();
    await pipeline(tar, tap, compressor(compression), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) await writer.write(chunk);
    });
    const diffId = tap.hash.digest();
    if (expect) checkDiffId(expect.what, expect.diffId, diffId);
    const { digest, size } = await writer.commit();
    return { diffId, digest, size, mediaType: layerMediaType(compression) };
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

/** The blob is the tar itself: its digest is the diff_id (one sha256 pass, not two). */
async function storePlain(tar: AsyncIterable<Buffer>, blobs: LayerSink, expect?: { readonly diffId: string; readonly what: string }): Promise<LayerResult> {
  const expected = expect?.diffId as Sha256 | undefined;
  const named = (e: unknown): unknown => ((e as UserError).code === 'store.digest-mismatch' ? diffIdMismatch(expect!.what, expect!.diffId) : e);
  const chunks = tar[Symbol.asyncIterator]();
  try {
    // Most layers of a build are a few files: gathered whole, they are stored in one synchronous write.
    const head: Buffer[] = [];
    let size = 0;
    let next = await chunks.next();
    for (; blobs.putBytes && !next.done && size <= SMALL_TAR; next = await chunks.next()) {
      head.push(next.value);
      size += next.value.length;
    }
    if (blobs.putBytes && next.done) {
      const { digest, size: stored } = await blobs.putBytes(Buffer.concat(head, size), expected).catch((e: unknown) => {
        throw named(e);
      });
      return { diffId: digest, digest, size: stored, mediaType: layerMediaType('none') };
    }
    const writer = await blobs.writer();
    try {
      for (const chunk of head) await writer.write(chunk);
      for (; !next.done; next = await chunks.next()) await writer.write(next.value);
      const { digest, size: stored } = await writer.commit(expected).catch((e: unknown) => {
        throw named(e);
      });
      return { diffId: digest, digest, size: stored, mediaType: layerMediaType('none') };
    } catch (e) {
      await writer.abort();
      throw e;
    }
  } finally {
    await chunks.return?.();
  }
}
