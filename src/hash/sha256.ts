import { createHash, type Hash } from 'node:crypto';
import { sha256FromHex, type Sha256 } from './digest.js';

export function sha256Of(data: string | Uint8Array): Sha256 {
  return sha256FromHex(createHash('sha256').update(data).digest('hex'));
}

/** An incremental sha256 that also counts bytes, for digest-while-writing. */
export class Sha256Stream {
  private readonly h: Hash = createHash('sha256');
  size = 0;
  update(chunk: Uint8Array): void {
    this.h.update(chunk);
    this.size += chunk.length;
  }
  digest(): Sha256 {
    return sha256FromHex(this.h.digest('hex'));
  }
}
