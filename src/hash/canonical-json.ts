import { sha256Of } from './sha256.js';
import type { Sha256 } from './digest.js';

/**
 * JSON with object keys sorted and no insignificant whitespace, so equal values always give equal
 * bytes (and equal cache keys). `undefined` members are dropped as JSON.stringify does.
 */
export function canonicalJSON(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

export const digestOfJSON = (value: unknown): Sha256 => sha256Of(canonicalJSON(value));
