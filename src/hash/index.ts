/**
 * hash: branded digests (a `Sha256` cannot stand where an `Xxh64` is expected), sha256 of bytes and
 * streams (native on the thread pool where it can), canonical JSON, and the xxh64 hasher that is
 * loaded once and injected.
 */
export { isSha256, parseSha256, sha256FromHex, sha256Hex, type Sha256, type Xxh64 } from './digest.js';
export { sha256Of, Sha256Stream } from './sha256.js';
export { PooledSha256 } from './sha256-pooled.js';
export { canonicalJSON, digestOfJSON } from './canonical-json.js';
export { loadXxh64, type Xxh64Hasher } from './xxh64.js';
