import { nativeAddon, type NativeAddon } from '../util/index.js';
import { sha256FromHex, type Sha256 } from './digest.js';

/**
 * A sha256 stream whose updates run on the thread pool (the native addon's OpenSSL calls), one
 * after another, so hashing a large blob overlaps with making it on a second core: sha256 was a
 * fifth of the main thread's time writing a 500 MB layer. Undefined where the addon cannot do it.
 */
export class PooledSha256 {
  size = 0;
  /** Settles when the last queued chunk is hashed (and fails with the first failure). */
  private tail: Promise<void> = Promise.resolve();
  /** One promise per queued chunk, oldest first. */
  private readonly queued: Promise<void>[] = [];

  private constructor(
    private readonly addon: NativeAddon,
    private readonly handle: unknown,
  ) {}

  static create(): PooledSha256 | undefined {
    const addon = nativeAddon();
    const handle = addon?.sha256Create?.();
    return addon && handle ? new PooledSha256(addon, handle) : undefined;
  }

  /**
   * Queues a chunk, which must not change until it is hashed (a blob writer's chunks do not: they
   * are being written too). Resolves once no more than `ahead` chunks wait, so memory stays bounded.
   */
  async update(chunk: Uint8Array, ahead = 3): Promise<void> {
    this.size += chunk.length;
    this.tail = this.tail.then(() => this.addon.sha256Update(this.handle, chunk));
    this.queued.push(this.tail);
    while (this.queued.length > ahead) await this.queued.shift();
  }

  async digest(): Promise<Sha256> {
    this.queued.length = 0;
    await this.tail;
    return sha256FromHex(this.addon.sha256Digest(this.handle));
  }
}
