/**
 * Layer verification. Snapshots are named by diff_id (chain ID), so a layer whose content is not
 * what its config's diff_id says would stand in for the real layer in every later image and
 * build. Every layer that enters the store from outside (load, pull) or is unpacked into a
 * snapshot is checked here: the sha256 of its uncompressed tar must be the diff_id, and every
 * entry's path must stay inside the root (refused at load, not first at `run`).
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { PooledSha256, Sha256Stream, type Sha256 } from '../hash/index.js';
import { lazily, UserError } from '../util/index.js';
import { decompressed } from './compress.js';
import { cleanArchivePath } from './safe-path.js';
import { readTar } from './tar-reader.js';

/** Passes bytes through unchanged while hashing them. */
export interface HashTap extends Transform {
  readonly hash: Sha256Stream;
}

/** Declared on first use (util/lazily.ts says why). */
const hashTapClass = lazily(
  () =>
    class extends Transform implements HashTap {
      readonly hash = new Sha256Stream();
      override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        this.hash.update(chunk);
        cb(null, chunk);
      }
    },
);

export const hashTap = (): HashTap => new (hashTapClass())();

/**
 * Passes bytes through unchanged while hashing them on the thread pool (PooledSha256; on this
 * thread when the addon is missing). For sources whose chunks are never written to again (gunzip
 * output, file and socket reads): a chunk is hashed after it was passed on. A layer's diff_id
 * hash (~120 ms of a 200 MB pull's main thread) then runs beside the unpacking instead of in it.
 */
export interface PooledHashTap extends Transform {
  /** Bytes passed through. */
  readonly size: number;
  /** The sha256 of every byte passed through (call after the stream ended). */
  digest(): Promise<Sha256>;
}

const pooledHashTapClass = lazily(
  () =>
    class extends Transform implements PooledHashTap {
      readonly #pooled = PooledSha256.create();
      readonly #inline = this.#pooled ? undefined : new Sha256Stream();
      override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        if (!this.#pooled) {
          this.#inline!.update(chunk);
          cb(null, chunk);
          return;
        }
        this.push(chunk);
        // Resolves once at most a few chunks wait to be hashed: memory stays bounded.
        this.#pooled.update(chunk).then(() => cb(), cb);
      }
      get size(): number {
        return this.#pooled ? this.#pooled.size : this.#inline!.size;
      }
      digest(): Promise<Sha256> {
        return this.#pooled ? this.#pooled.digest() : Promise.resolve(this.#inline!.digest());
      }
    },
);

export const isPooledHashTap = (s: unknown): s is PooledHashTap => s instanceof pooledHashTapClass();

/** `src` through a PooledHashTap (its chunks must not change once read); an error of `src` ends the tap with it. */
export function tapped(src: Readable): PooledHashTap {
  const tap: PooledHashTap = new (pooledHashTapClass())();
  src.on('error', (e) => tap.destroy(e));
  return src.pipe(tap);
}

export function diffIdMismatch(what: string, expected: string, actual?: Sha256): UserError {
  return new UserError(
    'layer.diff-id-mismatch',
    `${what}: content does not match its diff_id ${expected}${actual ? ` (the uncompressed tar hashes to ${actual})` : ''}`,
    'the image is damaged or was tampered with; nothing was stored from it',
  );
}

/** Refuses unless `actual` is `expected` (a diff_id from a config, not yet trusted to be a digest). */
export function checkDiffId(what: string, expected: string, actual: Sha256): void {
  if (actual !== expected) throw diffIdMismatch(what, expected, actual);
}

/**
 * Reads a (possibly compressed) layer to its end: checks every entry's name (and hard-link
 * target) lexically as the applier would, and that the uncompressed tar hashes to `diffId`.
 * Returns the diff_id. Nothing is written anywhere.
 */
export async function verifyLayer(src: Readable, diffId: string, what: string): Promise<Sha256> {
  const tap = tapped(await decompressed(src, what));
  try {
    for await (const e of readTar(tap)) {
      cleanArchivePath(e.path);
      if (e.type === 'hardlink') cleanArchivePath(e.linkname, e.path);
    } // readTar reads past the end marker to the end, so the hash covers every byte
  } finally {
    tap.destroy();
  }
  const actual = await tap.digest();
  checkDiffId(what, diffId, actual);
  return actual;
}

/** The diff_id of a (possibly compressed) layer: the sha256 of its uncompressed bytes. */
export async function layerDiffId(src: Readable): Promise<Sha256> {
  const tap = tapped(await decompressed(src));
  for await (const _ of tap) void _;
  return tap.digest();
}
