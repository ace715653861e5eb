/**
 * The layer module: deterministic layer tars from directories (plain trees or overlay upper dirs)
 * and the safe applier. See types.ts for the contract.
 */
import { applyLayer } from './apply.js';
import type { LayerCodec } from './types.js';
import { writeLayer } from './write.js';

export type { ApplyOptions, Compression, DirForm, FileSpan, LayerCodec, LayerResult, LayerWriteOptions, TarReuse } from './types.js';
export { applyLayer } from './apply.js';
export { writeLayer, writeLayerFromTar, layerTarStream } from './write.js';
export { decompressed, detectCompression, peekStream, layerMediaType, MEDIA_TYPE_LAYER } from './compress.js';
export { isTarArchive } from './sniff.js';
export { readTar, type ReadEntry } from './tar-reader.js';
export { checkDiffId, copyVerifiedLayer, diffIdMismatch, HashTap, layerDiffId, tapped, verifyLayer } from './verify.js';
export { OPAQUE_MARKER, WHITEOUT_PREFIX } from './tar-writer.js';
export { readTreeXattrs, type Xattrs } from './xattr.js';

export const layerCodec: LayerCodec = { writeLayer, applyLayer };
