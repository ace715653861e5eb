import xxhashWasm from 'xxhash-wasm';
import type { Xxh64 } from './digest.js';

/** Streaming xxh64 over file content. Feed ~100 KB chunks: one huge buffer is ~14x slower. */
export interface Xxh64Hasher {
  /** One-shot for small inputs. */
  hash(data: Uint8Array): Xxh64;
  /** Incremental for large files. */
  create(): { update(chunk: Uint8Array): void; digest(): Xxh64 };
}

let instance: Promise<Xxh64Hasher> | undefined;

/** Initialises the wasm module once per process; inject the result where fingerprints are made. */
export function loadXxh64(): Promise<Xxh64Hasher> {
  instance ??= xxhashWasm().then((api) => {
    const hex = (n: bigint): Xxh64 => n.toString(16).padStart(16, '0') as Xxh64;
    return {
      hash: (data) => hex(api.h64Raw(data)),
      create: () => {
        const h = api.create64();
        return {
          update: (chunk: Uint8Array) => void h.update(chunk),
          digest: () => hex(h.digest()),
        };
      },
    };
  });
  return instance;
}
