import { digestOfJSON, type Sha256 } from '../hash/index.js';

/** Bump on any change of what enters a key: old records then simply stop matching. */
export const CACHE_KEY_VERSION = 1;

/**
 * Everything a filesystem step's result depends on (DESIGN.md, "Cache key"). Kept beside each
 * record so a later miss can be explained field by field.
 */
export interface KeyMaterial {
  readonly v: typeof CACHE_KEY_VERSION;
  /** Key of the previous filesystem step, the base image's config digest, or "scratch". */
  readonly parent: string;
  /** The instruction after expansion, in canonical form. */
  readonly op: unknown;
  /** RUN: env, user, workdir, shell, network, mounts. COPY/ADD/WORKDIR: workdir, user, chown/chmod. */
  readonly exec?: unknown;
  /** COPY/ADD: tree digest of the selected sources or the key of the stage copied from. */
  readonly inputs?: unknown;
  readonly platform: string;
  /** SOURCE_DATE_EPOCH when the build clamps layer mtimes to it (absent otherwise). */
  readonly sourceDateEpoch?: number;
}

export function cacheKey(material: KeyMaterial): Sha256 {
  return digestOfJSON(material);
}

/** Top-level fields whose values differ between two materials (for "why did this miss"). */
export function explainMiss(now: KeyMaterial, before: KeyMaterial): string[] {
  const fields = ['v', 'parent', 'op', 'exec', 'inputs', 'platform', 'sourceDateEpoch'] as const;
  return fields.filter((f) => JSON.stringify(now[f]) !== JSON.stringify(before[f]));
}

/**
 * The same instruction on the same platform, whatever its parent and inputs: a miss is explained
 * against the latest record of its slot ("nearest earlier record").
 */
export function slotOf(material: KeyMaterial): Sha256 {
  return digestOfJSON({ v: material.v, op: material.op, platform: material.platform });
}
