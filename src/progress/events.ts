/**
 * How a build read its context: files, and how many were hashed or answered by the stat cache.
 * Progress declares the shape it reports (context's ContextStats is one) and imports nothing above diag.
 */
export interface ContextReport {
  readonly files: number;
  readonly filesHashed: number;
  readonly bytesHashed: number;
  readonly filesFromStatCache: number;
}

/** A step as progress output names it: `#3 [build 2/5] RUN make`. */
export interface StepRef {
  /** Vertex id from the plan (`s1v2`). */
  readonly id: string;
  /** 1-based number across the whole build, in Dockerfile order. */
  readonly number: number;
  readonly stage: number;
  /** Stage name, or `stage-<index>` for unnamed stages. */
  readonly stageLabel: string;
  /** 1-based position among the stage's steps, and how many there are. */
  readonly position: number;
  readonly total: number;
  /** One-line instruction, e.g. `RUN make`. */
  readonly instruction: string;
}

/**
 * An image being pulled (a build's base, or `wharf pull`): `resolved` once its manifest is read,
 * then per layer `waiting`, `exists` (the store had it), `downloading` (bytes of total so far) and
 * `verified` (digest, size and diff_id checked; in the store). `digest` is the image's manifest
 * digest for `resolved`, the layer's otherwise.
 */
export interface PullProgress {
  readonly type: 'pull';
  readonly image: string;
  readonly state: 'resolved' | 'waiting' | 'exists' | 'downloading' | 'verified';
  readonly digest: string;
  readonly bytes: number;
  readonly total: number;
  readonly at: number;
}

/**
 * A layer of `wharf push` (or `build --push`): announced `waiting`, then `uploading` bytes of
 * `total`, then how it reached the registry. `digest` names the line: the stored layer's, also
 * when a compressed copy of it is what is sent.
 */
export interface PushProgress {
  readonly type: 'push';
  readonly image: string;
  readonly state: 'waiting' | 'preparing' | 'uploading' | 'pushed' | 'exists' | 'mounted';
  readonly digest: string;
  readonly bytes: number;
  readonly total: number;
  /** The repository a mounted layer came from. */
  readonly from?: string;
  readonly at: number;
}

/**
 * Why a step missed the cache: `kind` for scripts (that of the first difference found), `text`
 * for people (every difference, `; `-separated).
 */
export interface MissReason {
  readonly kind: MissKind;
  readonly text: string;
}

export type MissKind =
  | 'instruction'
  | 'parent'
  | 'base-image'
  | 'files'
  | 'build-arg'
  | 'env'
  | 'exec'
  | 'platform'
  | 'source-date-epoch'
  | 'key-version'
  | 'no-cache'
  | 'no-cache-filter'
  | 'removed';

/**
 * One piece of advice about a Dockerfile, from what wharf measured (src/advice): `rule` names the
 * check, `lines` the Dockerfile lines it is about, `text` says what to do. The other fields are
 * the rule's own data for scripts: a variable's name and where to move it (`moveBelow`, and the
 * steps that then stay cached, `keeps`), the files it names, the step it is about.
 */
export interface Advice {
  readonly rule: AdviceRule;
  readonly lines: readonly number[];
  readonly text: string;
  readonly name?: string;
  readonly moveBelow?: number;
  readonly keeps?: number;
  readonly files?: readonly string[];
  readonly step?: number;
}

export type AdviceRule = 'arg-env-early' | 'broad-copy' | 'dockerignore' | 'non-reproducible';

/**
 * The build graph, as the first event of a build that planned: each stage with its filesystem
 * steps (the ones step events name, by `id`), and which other stages each step reads. Enough to
 * draw the graph a build went through (the HTML report) without the plan's types.
 */
export interface GraphStage {
  readonly index: number;
  /** As StepRef's stageLabel: the name, or `stage-<index>`. */
  readonly label: string;
  /** What the stage starts from: an image reference, `scratch`, or `stage <label>`. */
  readonly base: string;
  readonly target: boolean;
  readonly steps: readonly GraphStep[];
}

export interface GraphStep {
  readonly id: string;
  readonly number: number;
  readonly instruction: string;
  /** 1-based Dockerfile line (absent for ONBUILD triggers). */
  readonly line?: number;
  /** Other stages this step reads: its FROM's base stage, COPY --from, RUN --mount from=. */
  readonly reads: readonly { readonly stage: number; readonly via: 'from' | 'copy-from' | 'mount-from' }[];
}

/** What the solver reports; renderers turn these into output. Times are ms since the build began. */
export type BuildEvent =
  | PullProgress
  | { readonly type: 'build-graph'; readonly stages: readonly GraphStage[]; readonly at: number }
  /** `reason`: why the cache missed (`miss.text`), when an earlier build or record to compare with exists. */
  | { readonly type: 'step-started'; readonly step: StepRef; readonly at: number; readonly reason?: string; readonly miss?: MissReason }
  /** `durationMs`: looking the step up (and, for FROM, loading its base) took this long. */
  | { readonly type: 'step-cached'; readonly step: StepRef; readonly key: string; readonly at: number; readonly durationMs?: number }
  | { readonly type: 'step-log'; readonly step: StepRef; readonly stream: 'stdout' | 'stderr'; readonly line: string; readonly at: number }
  | { readonly type: 'step-done'; readonly step: StepRef; readonly key: string; readonly durationMs: number; readonly at: number }
  /**
   * `line`: the instruction's 1-based Dockerfile line (added by the CLI, which has the file);
   * `exitCode` and `lastOutput`: a RUN's exit status and its last lines of output.
   */
  | {
      readonly type: 'step-error';
      readonly step: StepRef;
      readonly message: string;
      readonly durationMs: number;
      readonly at: number;
      readonly line?: number;
      readonly exitCode?: number;
      readonly lastOutput?: readonly string[];
    }
  /** A parse or plan diagnostic (--progress json prints these instead of the caret form). */
  | {
      readonly type: 'diagnostic';
      readonly severity: 'error' | 'warning';
      readonly code: string;
      readonly message: string;
      readonly hint?: string;
      readonly file?: string;
      readonly line?: number;
      readonly col?: number;
      readonly at: number;
    }
  /**
   * The last event of a build that failed (nothing follows it): the error as the CLI would print
   * it, where it points (`file`, `line`, `col`), the step it stopped and the RUN's exit status.
   */
  | {
      readonly type: 'build-failed';
      readonly code: string;
      readonly message: string;
      readonly hint?: string;
      readonly file?: string;
      readonly line?: number;
      readonly col?: number;
      readonly step?: number;
      readonly exitCode?: number;
      readonly at: number;
    }
  | {
      readonly type: 'build-done';
      readonly name?: string;
      /** Every name the image was tagged with, in full (`docker.io/library/app:1`). */
      readonly names?: readonly string[];
      readonly imageId: string;
      readonly durationMs: number;
      readonly steps: number;
      readonly cached: number;
      /** Context files hashed vs answered by the stat cache. */
      readonly context?: ContextReport;
      /** Layers of imported cache records fetched from their cache source (--cache-from), and their bytes. */
      readonly cacheFetched?: { readonly layers: number; readonly bytes: number };
      readonly at: number;
    }
  /** `wharf build --explain`: advice from this build's misses against the previous build of the target (sent before build-done, also when empty). */
  | { readonly type: 'advice'; readonly advice: readonly Advice[]; readonly at: number }
  /** A cache source or destination (--cache-from/--cache-to) the build goes on without. */
  | { readonly type: 'cache-warning'; readonly message: string; readonly at: number }
  /** Records read from a cache source before the build (its layers are fetched only when needed); `mounts`: cache mounts restored. */
  | { readonly type: 'cache-imported'; readonly source: string; readonly records: number; readonly mounts?: number; readonly at: number }
  /** One layer of an imported record fetched from its source: a step needed its files, or the result its bytes. */
  | { readonly type: 'cache-fetched'; readonly source: string; readonly digest: string; readonly bytes: number; readonly at: number }
  /** A cache export written: records, and layer blobs (and their bytes) the destination did not have yet; `layersMounted`: linked from another repository of its registry instead. */
  | { readonly type: 'cache-exported'; readonly dest: string; readonly records: number; readonly mounts?: number; readonly layersWritten: number; readonly bytesWritten: number; readonly layersMounted?: number; readonly at: number }
  /** A build's push (`push: true`) of one name begins; its layers' progress follows as `push` events. */
  | { readonly type: 'push-started'; readonly name: string; readonly at: number }
  | PushProgress
  /** One name pushed: its manifest's digest, size and media type (as `wharf push --progress json` reports it). */
  | { readonly type: 'pushed'; readonly name: string; readonly digest: string; readonly size: number; readonly mediaType: string }
  /** The pushed image was not tagged here: layers of these names hit a registry cache and were mounted there, never fetched. */
  | { readonly type: 'push-not-stored'; readonly names: readonly string[]; readonly at: number };

export type EventSink = (event: BuildEvent) => void;
