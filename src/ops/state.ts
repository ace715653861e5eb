import { posix } from 'node:path';
import type { ImageDraft, LoadedImage } from '../image/index.js';
import type { Platform } from '../util/index.js';
import type { ParentKey } from '../cache/index.js';
import type { BuildContext } from '../context/index.js';
import type { Compression } from '../layer/index.js';
import type { Executor, NetworkMode, ResourceLimits } from '../runtime/index.js';
import type { LayerRef, SnapshotStore } from '../snapshot/index.js';
import type { BlobStore, Store } from '../store/index.js';
import type { WorkDirs } from './work-dirs.js';

/** A stage as the build goes: the image so far and the key its next filesystem step chains on. */
export interface StageState {
  readonly key: ParentKey;
  readonly draft: ImageDraft;
  /** True once the stage sets CMD itself (ENTRYPOINT clears only an inherited CMD). */
  readonly cmdSet: boolean;
  /** ARGs the stage declared, in order (docker's RUN history lists them). */
  readonly argKeys: readonly string[];
}

/** What the ops need, wired by the CLI. */
export interface BuildDeps {
  readonly store: Store;
  /** Where new blobs go: the build's lease, so GC spares them until the image is tagged. */
  readonly blobs: BlobStore;
  /** Protects a reused blob until the result is tagged. */
  readonly protect: (digest: LayerRef['descriptor']['digest']) => Promise<void>;
  readonly snapshots: SnapshotStore;
  readonly executor: Executor;
  /** RUN work dirs kept across the build's steps (work-dirs.ts); closed by whoever made them. */
  readonly workDirs?: WorkDirs;
  readonly context: BuildContext;
  readonly platform: Platform;
  /**
   * SOURCE_DATE_EPOCH (seconds): clamps layer file mtimes (and, at commit, history and image
   * times). History times otherwise come from the steps (see image/created.ts).
   */
  readonly sourceDateEpoch?: number;
  readonly compression: Compression;
  /**
   * A context COPY that misses may start from its previous run's snapshot (copy/reuse.ts); off
   * under --no-cache, which asks for every step to be done afresh.
   */
  readonly incrementalCopy: boolean;
  /**
   * How COPY and WORKDIR write (fs-write.ts): straight into an upper dir where that gives the same
   * layer (the default), or always through an overlay mount ('overlay': for tests comparing both).
   */
  readonly fsWrite?: 'direct' | 'overlay';
  /** Ctrl-C: cancels work outside a step's own io (an ADD <url> fetch while its key is made). */
  readonly signal?: AbortSignal;
  /** `--network`: for RUN steps that do not ask for one (`RUN --network=`). */
  readonly network: NetworkMode;
  /** `--add-host`: /etc/hosts lines (`ip\tname`) of every RUN; part of its key, as in BuildKit. */
  readonly extraHosts?: readonly string[];
  /**
   * `--ulimit`, `--shm-size`, `--memory`, `--pids-limit` for every RUN. Resources, not inputs:
   * they are not part of a step's cache key (a step's result does not depend on them).
   */
  readonly limits?: ResourceLimits;
  /** `--secret` values by id, read by the CLI; never logged, keyed or written to a layer. */
  readonly secrets?: ReadonlyMap<string, Uint8Array>;
  /** `--ssh` agent sockets by id. */
  readonly sshAgents?: ReadonlyMap<string, string>;
  /**
   * The image a FROM (or COPY --from=IMAGE) names, pulled when the store lacks it (or always,
   * under --pull). Without it, the store's, and a missing image is an error.
   */
  readonly loadImage?: (ref: string, platform: Platform) => Promise<LoadedImage>;
}

export function layerRefs(draft: ImageDraft): LayerRef[] {
  return draft.layers.map((descriptor, i) => ({ descriptor, diffId: draft.config.rootfs.diff_ids[i]! }));
}

/** The stage's working directory, `/` until something sets one. */
export const workdirOf = (s: StageState): string => s.draft.config.config?.WorkingDir || '/';

/** A step's path made absolute against the stage's working directory. */
export const absolutePath = (s: StageState, p: string): string => (p.startsWith('/') ? p : posix.join(workdirOf(s), p));
