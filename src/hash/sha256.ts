import { sha256Hasher, sha256HexOf } from '../util/index.js';
import { sha256FromHex, type Sha256 } from './digest.js';

// Both through util's helpers, which hash with the native addon's OpenSSL calls where it was
// built and with node:crypto where it was not (why: util/crypto.ts).

export function sha256Of(data: string | Uint8Array): Sha256 {
  return sha256FromHex(sha256HexOf(data));
}

/** An incremental sha256 that also counts bytes, for digest-while-writing. */
export class Sha256Stream {
  private readonly h = sha256Hasher();
  size = 0;
  update(chunk: Uint8Array): void {
    this.h.update(chunk);
    this.size += chunk.length;
  }
  digest(): Sha256 {
    return sha256FromHex(this.h.digest());
  }
}
