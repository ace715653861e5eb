/**
 * The layer module: deterministic layer tars from directories (plain trees or overlay upper dirs)
 * and the safe applier. See types.ts for the contract.
 */
export type { ApplyResult, Compression, FileSpan, LayerResult, TarReuse } from './types.js';
export { applyLayer } from './apply.js';
export { writeLayer, writeLayerFromTar, layerTarStream } from './write.js';
export { compressor, decompressed, detectCompression, peekStream, layerMediaType } from './compress.js';
export { isTarArchive } from './sniff.js';
export { readTar, type ReadEntry } from './tar-reader.js';
export { BLOCK, decodeHeader, encodeHeader, endOfArchive, paddingFor } from './tar-header.js';
export { copyVerifiedLayer } from './copy-verified.js';
export { layerDiffId, tapped, verifyLayer } from './verify.js';
export { readTreeXattrs, restoreXattrs, type Xattrs } from './xattr.js';
