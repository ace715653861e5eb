declare const sha256Brand: unique symbol;
declare const xxh64Brand: unique symbol;

/** An OCI digest, `sha256:<64 hex>`: blobs, diff_ids, config/manifest digests, cache keys. */
export type Sha256 = string & { readonly [sha256Brand]: true };
/** A file-content fingerprint, 16 lowercase hex digits of xxh64. Never an OCI digest. */
export type Xxh64 = string & { readonly [xxh64Brand]: true };

const SHA256_RE = /^sha256:[0-9a-f]{64}$/;

export function isSha256(s: string): s is Sha256 {
  return SHA256_RE.test(s);
}

/** Validates and brands a digest string read from outside (a manifest, a flag). */
export function parseSha256(s: string): Sha256 | undefined {
  return isSha256(s) ? s : undefined;
}

export function sha256FromHex(hex: string): Sha256 {
  const d = `sha256:${hex}`;
  if (!isSha256(d)) throw new Error(`not a sha256 hex digest: ${hex}`);
  return d;
}

export const sha256Hex = (d: Sha256): string => d.slice(7);
