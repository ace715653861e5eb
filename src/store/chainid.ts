import { sha256Of, type Sha256 } from '../hash/index.js';

/**
 * ChainIDs of a layer stack (OCI image-spec): ChainID(L0) = DiffID(L0),
 * ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)). Snapshots are keyed by these.
 * Typed over plain strings so spec test vectors with fake digests work; real ones are Sha256.
 */
export function chainIds<T extends string>(diffIds: readonly T[]): (T | Sha256)[] {
  const out: (T | Sha256)[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256Of(`${out[out.length - 1]} ${d}`));
  return out;
}

/** ChainID of the whole stack, undefined for an image without layers. */
export function chainId(diffIds: readonly Sha256[]): Sha256 | undefined {
  return chainIds(diffIds).at(-1) as Sha256 | undefined;
}
