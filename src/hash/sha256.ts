import { createHash, type Hash } from 'node:crypto';
import { nativeAddon, sha256HexOf } from '../util/index.js';
import { sha256FromHex, type Sha256 } from './digest.js';

// Both go through the native addon's OpenSSL calls where it was built, as util's sha256HexOf does
// (why: util/crypto.ts); node:crypto where it was not.

export function sha256Of(data: string | Uint8Array): Sha256 {
  return sha256FromHex(sha256HexOf(data));
}

/** An incremental sha256 that also counts bytes, for digest-while-writing. */
export class Sha256Stream {
  private readonly h = streamHasher();
  size = 0;
  update(chunk: Uint8Array): void {
    this.h.update(chunk);
    this.size += chunk.length;
  }
  digest(): Sha256 {
    return sha256FromHex(this.h.digest());
  }
}

interface StreamHasher {
  update(chunk: Uint8Array): void;
  digest(): string;
}

function streamHasher(): StreamHasher {
  const native = nativeAddon();
  const handle = native?.sha256UpdateSync ? native.sha256Create?.() : undefined;
  if (!native || !handle) {
    const h: Hash = createHash('sha256');
    return { update: (chunk) => void h.update(chunk), digest: () => h.digest('hex') };
  }
  return { update: (chunk) => native.sha256UpdateSync!(handle, chunk), digest: () => native.sha256Digest(handle) };
}
