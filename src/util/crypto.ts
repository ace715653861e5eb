import { createHash, randomBytes } from 'node:crypto';
import { nativeAddon } from './native.js';

// What every command needs of node:crypto, through the native addon where it was built (getrandom
// and the OpenSSL calls Node exports): the bundled CLI loads node:crypto only on first use
// (scripts/bundle.mjs), and loading it was ~1.2 ms of every command (bench/README.md, "Speed,
// tenth round"). Where the addon is missing, node:crypto gives the same answers.

/** `bytes` random bytes as lowercase hex, for the unique part of temp names. */
export function randomHex(bytes: number): string {
  const native = nativeAddon();
  return native?.randomHex ? native.randomHex(bytes) : randomBytes(bytes).toString('hex');
}

/** The sha256 of the bytes (a string as UTF-8) as lowercase hex. */
export function sha256HexOf(data: string | Uint8Array): string {
  return nativeAddon()?.sha256Hex?.(data) ?? createHash('sha256').update(data).digest('hex');
}

/** An incremental sha256 (chunks hashed on this thread); `digest` gives lowercase hex and ends it. */
export interface Sha256Hasher {
  update(chunk: Uint8Array): void;
  digest(): string;
}

export function sha256Hasher(): Sha256Hasher {
  const native = nativeAddon();
  const handle = native?.sha256UpdateSync ? native.sha256Create?.() : undefined;
  if (!native || !handle) {
    const h = createHash('sha256');
    return { update: (chunk) => void h.update(chunk), digest: () => h.digest('hex') };
  }
  return { update: (chunk) => native.sha256UpdateSync!(handle, chunk), digest: () => native.sha256Digest(handle) };
}
