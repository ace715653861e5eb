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

/**
 * xxhash-wasm compiles its (3 KB) module with WebAssembly.instantiate, whose compile finishes in
 * tasks this thread runs only between its own tasks: in a build, whose steps keep it busy, that
 * took 2-3 ms where compiling the module on this thread takes 0.7. So the library is called with
 * instantiate compiling synchronously; it calls instantiate before its first await, and the
 * original is back before anything else runs (a library that called it later would simply get
 * the asynchronous one).
 */
function instantiateNow(): ReturnType<typeof xxhashWasm> {
  const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
  const original = wasm.instantiate;
  wasm.instantiate = (bytes) => {
    const module = new wasm.Module(bytes);
    return Promise.resolve({ module, instance: new wasm.Instance(module) });
  };
  try {
    return xxhashWasm();
  } finally {
    wasm.instantiate = original;
  }
}

/** The little of WebAssembly used here (this project's TypeScript libs do not declare it). */
interface Wasm {
  instantiate(bytes: Uint8Array): Promise<{ module: unknown; instance: unknown }>;
  Module: new (bytes: Uint8Array) => unknown;
  Instance: new (module: unknown) => unknown;
}

/** Initialises the wasm module once per process; inject the result where fingerprints are made. */
export function loadXxh64(): Promise<Xxh64Hasher> {
  instance ??= instantiateNow().then((api) => {
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
