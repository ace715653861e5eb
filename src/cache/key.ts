import { digestOfJSON, type Sha256 } from '../hash/index.js';

/** Bump on any change of what enters a key: old records then simply stop matching. */
export const CACHE_KEY_VERSION = 1;

/** What a stage's next filesystem step chains on: a step's key, the base image's config digest, or "scratch". */
export type ParentKey = Sha256 | 'scratch';

/** The parts of every key that are the same for the whole build. */
export interface BuildKeyFields {
  readonly platform: string;
  /** SOURCE_DATE_EPOCH when the build clamps layer mtimes to it (absent otherwise). */
  readonly sourceDateEpoch?: number;
}

/** The common envelope of every key; the solver adds it around a step's own material. */
export interface KeyEnvelope extends BuildKeyFields {
  readonly v: typeof CACHE_KEY_VERSION;
  readonly parent: ParentKey;
}

/** A RUN: the command as written, and what it runs with (env, user, workdir, shell, network, mounts). */
export interface RunKey {
  readonly op: {
    readonly kind: 'RUN';
    readonly command: { readonly exec: readonly string[] } | { readonly shell: string };
    readonly files: readonly { readonly name: string; readonly data: string; readonly chomp: boolean; readonly expand: boolean }[];
    readonly network: string;
    readonly security: string;
  };
  readonly exec: {
    readonly env: readonly string[];
    readonly user: string;
    readonly workdir: string;
    readonly shell: readonly string[] | null;
    readonly network: 'default' | 'none' | 'host';
    /** The mount specs, and for binds what they show (mounts/mounts.ts). */
    readonly mounts: readonly unknown[];
    /** `--add-host` lines, only when given. */
    readonly extraHosts?: readonly string[];
  };
}

/**
 * COPY/ADD. Optional op members appear only when used, so keys of COPYs without them stay as
 * they were. `inputs`: the tree digest of the selected sources (and the digests of fetched URLs),
 * or the key of the stage / image copied from; absent when only heredoc contents are copied.
 */
export interface CopyKey {
  readonly op: {
    readonly kind: 'COPY' | 'ADD';
    readonly sources: readonly string[];
    readonly dest: string;
    readonly from: string | null;
    readonly chown: string | null;
    readonly chmod: string | null;
    readonly link: boolean;
    readonly contents: readonly { readonly name: string; readonly data: string }[];
    readonly checksum?: string;
    readonly parents?: true;
    readonly exclude?: readonly string[];
    readonly unpack?: boolean;
  };
  readonly exec: {
    readonly workdir: string;
    readonly chown: string | null;
    readonly chmod: string | null;
    /** COPY --from without --chown keeps the source's owners; set only then, so earlier root-owned results are not reused. */
    readonly keepOwner?: true;
  };
  readonly inputs?: CopyKeyInputs;
}

export type CopyKeyInputs =
  | { readonly stage: ParentKey }
  | { readonly image: ParentKey }
  | { readonly tree?: Sha256; readonly urls?: readonly string[] };

/** WORKDIR: the absolute path it makes, as the user in effect. */
export interface WorkdirKey {
  readonly op: { readonly kind: 'WORKDIR'; readonly path: string };
  readonly exec: { readonly user: string };
}

/** A filesystem step's own key material, per op. */
export type StepKey = RunKey | CopyKey | WorkdirKey;

/**
 * Everything a filesystem step's result depends on (DESIGN.md, "Cache key"), as a record keeps
 * it beside its key so a later miss can be explained field by field. Records are read back from
 * disk, so the cache treats `op`, `exec` and `inputs` as opaque; what a step puts there is typed
 * by `StepKey`, and `withEnvelope` gives a `StepKeyMaterial`, which is one of these.
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

/** A step's own material inside the common envelope. */
export type StepKeyMaterial = KeyEnvelope & StepKey;

/** A step's key material inside the common envelope. */
export function withEnvelope(build: BuildKeyFields, parent: ParentKey, step: StepKey): StepKeyMaterial {
  return { v: CACHE_KEY_VERSION, parent, ...build, ...step };
}

export function cacheKey(material: KeyMaterial): Sha256 {
  return digestOfJSON(material);
}

/** Top-level fields whose values differ between two materials (for "why did this miss"). */
export type KeyMaterialField = 'v' | 'parent' | 'op' | 'exec' | 'inputs' | 'platform' | 'sourceDateEpoch';

export function explainMiss(now: KeyMaterial, before: KeyMaterial): KeyMaterialField[] {
  const fields: readonly KeyMaterialField[] = ['v', 'parent', 'op', 'exec', 'inputs', 'platform', 'sourceDateEpoch'];
  return fields.filter((f) => JSON.stringify(now[f]) !== JSON.stringify(before[f]));
}

/**
 * The same instruction on the same platform, whatever its parent and inputs: a miss is explained
 * against the latest record of its slot ("nearest earlier record").
 */
export function slotOf(material: KeyMaterial): Sha256 {
  return digestOfJSON({ v: material.v, op: material.op, platform: material.platform });
}
