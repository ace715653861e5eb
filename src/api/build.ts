/**
 * `build`: a Dockerfile and a context in, an image in the store out. Everything a build does is
 * here; callers (the CLI, the server, a program importing the library) choose the inputs, render
 * the events and print the diagnostics.
 *
 * Contract: the result is stored and tagged before `build` resolves; a failed or aborted build
 * leaves the store consistent and no temp dirs or mounts behind. Expected failures are UserErrors
 * (or a DiagnosticError for a Dockerfile with errors, after each diagnostic went to onDiagnostic).
 * A step's UserError is thrown as a StepFailure (build-failure.ts): the same code and message,
 * plus where in the Dockerfile it happened; step-error events carry that `line` too.
 */
import { buildSourceDateEpoch } from './source-date-epoch.js';
import { access, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { exportRootfs, exportRootfsTar, writeArchive, type OutputDest } from '../archive/index.js';
import { fullName, type Store, type Reference } from '../store/index.js';
import { DiagnosticError, SourceFile, type Diagnostic } from '../diag/index.js';
import { hostPlatform, nowMs, UserError, type Platform } from '../util/index.js';
import { loadXxh64, type Sha256 } from '../hash/index.js';
import { parseDockerfileKept } from './parse-cache.js';
import type { BaseImageResolver } from '../instructions/index.js';
import { checkEntitlements, planDockerfile, planDockerfileAsync, stepsUpToLastRun, type Plan, type Vertex } from '../plan/index.js';
import { openContext } from '../context/index.js';
import { commitImage, updateContainerConfig, type CommittedImage, parseTagName, settleTimes } from '../image/index.js';
import { openSnapshots } from '../snapshot/index.js';
import { createLazyOciExecutor, type NetworkMode } from '../runtime/index.js';
import { openBuildHistory, openCache } from '../cache/index.js';
import { solve, type StepSummary } from '../solver/index.js';
import type { BuildEvent } from '../progress/index.js';
import { buildOps, keptWorkDirs } from '../ops/index.js';
import type { Compression } from '../layer/index.js';
import type { RegistryClientOptions, RemoteLayers } from '../registry/index.js';
import { runtimeStateDir } from './runtime-state.js';
import { buildGraph } from './build-graph.js';
import { BAD_CACHE_FILTER } from './build-codes.js';
import { stepsWithLines, type BuildMetadata } from './build-metadata.js';
import { openBuildInput, type BuildInput } from './build-input.js';
import { makePuller, type Puller } from './registry.js';
import { withStoreRegistry } from './plain-http-hosts.js';
import { parseCacheFrom, parseCacheTo, type CacheFromSpec, type CacheToSpec } from './cache-options.js';
import { exportCache, importCaches, lazySnapshots, readCacheSources, withInlineCache, type CacheRead } from './cache-exchange.js';
import { openCacheEnds, type CacheEnds } from './cache-ends.js';
import { runnablePlatform } from './platform.js';
import { openApiStore } from './open-store.js';
import { parseRunPolicy, type RunPolicy } from './build-limits.js';
import { checkBaseReference } from './base-reference.js';
import { failureLocator, StepFailure, type FailureLocator } from './build-failure.js';
import { buildAdvice, changedStreaks } from './build-advice.js';
import { pushBuilt, pushTargets, type BuildPushOptions } from './build-push.js';

export interface BuildOptions {
  /** The store root. */
  readonly root: string;
  /** A context directory, or a context tar (plain or compressed; a bare Dockerfile also works) as a stream. */
  readonly context: string | Readable;
  /**
   * For a streamed context: what names it across builds (e.g. its tags, target and Dockerfile, as
   * `wharf serve` gives). A file whose tar header (path, size, mtime, mode, owner) matches the
   * previous build with the same key is not hashed again, and misses are explained against that
   * build. Without it a streamed context is hashed whole every time.
   */
  readonly contextKey?: string;
  /** The Dockerfile: a path (inside the tar for a streamed context); `Dockerfile` of the context by default; `-` reads `stdin`. */
  readonly dockerfile?: string;
  /** What `dockerfile: '-'` reads, for a directory context. */
  readonly stdin?: Readable;
  /** Relative paths (context, dockerfile, cache dirs, output) resolve from here; the process's by default. */
  readonly cwd?: string;
  /** Names for the image (`app:1`, `host:5000/app`). */
  readonly tags?: readonly (string | Reference)[];
  /** The names the result reports (metadata `image.name`, the build-done event); the string tags by default. */
  readonly names?: readonly string[];
  readonly buildArgs?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  readonly target?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Run every step even when a cached result exists. */
  /** Internal: 'overlay' makes COPY and WORKDIR always write through an overlay mount (tests compare both ways). */
  readonly fsWrite?: 'direct' | 'overlay';
  readonly noCache?: boolean;
  /** Stages (names or indexes) whose steps run even when cached. */
  readonly noCacheStages?: readonly string[];
  /** Pull FROM images again even when the store has them. */
  readonly pull?: boolean;
  /** `os/arch[/variant]`: one this machine can run; the host's by default. */
  readonly platform?: string;
  /** Network of RUN steps without RUN --network: default (their own, with outbound NAT; the default), none (loopback only) or host. */
  readonly network?: NetworkMode;
  /** /etc/hosts lines (`ip\tname`) for every RUN (build-network.ts parseBuildNetwork makes them from --add-host). */
  readonly extraHosts?: readonly string[];
  /** Entitlements and RUN resource limits (build-limits.ts parseRunPolicy makes one from flags). */
  readonly policy?: RunPolicy;
  /** How new layers are stored (default none). */
  readonly compression?: Compression;
  readonly secrets?: ReadonlyMap<string, Uint8Array>;
  readonly sshAgents?: ReadonlyMap<string, string>;
  readonly sourceDateEpoch?: number;
  /** `--cache-from` / `--cache-to` specs, as strings or parsed. */
  readonly cacheFrom?: readonly (string | CacheFromSpec)[];
  readonly cacheTo?: readonly (string | CacheToSpec)[];
  /**
   * Also write the result: an OCI/docker archive, a rootfs tar or a directory. `dest` may be a
   * stream the caller owns (`{ stream, name }`: written through, never ended), except for `local`.
   */
  readonly output?: { readonly type: FileOutputType; readonly dest: OutputDest };
  /** Credentials dir, TLS, proxies for pulls and registry caches. */
  readonly registry?: RegistryClientOptions;
  /** Where the OCI runtime (runc, crun) is looked up: a PATH value. */
  readonly searchPath?: string;
  /** The OCI runtime of RUN steps; `auto` (default): crun where its probe passes, else runc. */
  readonly runtime?: 'auto' | 'wharf' | 'runc' | 'crun';
  /** A root-only dir keeping crun's probe verdict and compiled seccomp filters across builds (runtime: OciExecutorOptions.cacheDir). */
  readonly runtimeCacheDir?: string;
  /** An open store to use instead of opening `root` (a server keeps one). */
  readonly store?: Store;
  /** Advice from this build's misses (an `advice` event before build-done, and `wharf.advice` in the metadata). */
  readonly explain?: boolean;
  /**
   * Push the result under each of its tags (`--push`; `registry` has the credentials): once the
   * image is committed, before it is tagged here, while the build still knows where its imported
   * cache layers are, so a push to the cache's registry mounts them there instead of downloading
   * them. Events: `push-started`, `push` (each layer), `pushed` per name, and `push-not-stored`
   * when layers stayed in the registry and the image is not tagged here (BuildResult.stored is
   * false). A failed push fetches the layers and sets the tags before its error is thrown. Without
   * tags it is a UserError (code NOTHING_TO_PUSH) before the build starts.
   */
  readonly push?: boolean | BuildPushOptions;
}

export interface BuildHooks {
  /** Progress: steps, logs, pulls, cache, build-done. */
  readonly onEvent?: (e: BuildEvent) => void;
  /** Each Dockerfile diagnostic (warnings too), before the build starts. */
  readonly onDiagnostic?: (d: Diagnostic) => void;
  /** Aborting cancels the build (running containers are killed, temp state removed). */
  readonly signal?: AbortSignal;
  /** performance.now() (or util's nowMs(), the same clock) when the caller started (event times count from it). */
  readonly startedAt?: number;
}

export interface BuildResult {
  /** The image ID (its config digest). */
  readonly imageId: string;
  /** The manifest's digest. */
  readonly digest: string;
  readonly names: readonly string[];
  readonly image: CommittedImage;
  /** Every filesystem step (FROM included), cached or run. */
  readonly steps: readonly StepSummary[];
  /** What `--metadata-file` writes. */
  readonly metadata: BuildMetadata;
  /** False when the image was pushed but not tagged here: cached layers it has only in a registry. */
  readonly stored: boolean;
}

export type FileOutputType = 'oci' | 'docker' | 'tar' | 'local';

export async function build(options: BuildOptions, hooks: BuildHooks = {}): Promise<BuildResult> {
  // libuv starts its thread pool at the first asynchronous call (0.3-3 ms here before that call
  // is served, more on a busy machine): started now, beside the parsing and planning, rather than
  // in the first file step, the first user of the pool.
  access(options.root, () => undefined);
  const sourceDateEpoch = buildSourceDateEpoch(options.buildArgs, options.sourceDateEpoch);
  const { sourceDateEpoch: _given, ...rest } = options;
  const o: BuildOptions = sourceDateEpoch === undefined ? rest : { ...rest, sourceDateEpoch };
  const t0 = hooks.startedAt ?? nowMs();
  const signal = hooks.signal ?? new AbortController().signal;
  const cwd = o.cwd ?? resolve('.');
  const tags = uniqueRefs((o.tags ?? []).map((t) => (typeof t === 'string' ? parseTagName(t, '-t') : t)));
  const push = pushTargets(o.push, tags);
  const store = o.store ?? (await openApiStore(o.root));
  const streamed = typeof o.context !== 'string';
  const input = await openBuildInput(store, {
    cwd,
    context: typeof o.context === 'string' ? o.context : '-',
    file: o.dockerfile,
    stdin: typeof o.context === 'string' ? o.stdin : o.context,
    signal,
    ...(streamed && o.contextKey !== undefined ? { streamKey: o.contextKey } : {}),
  }).catch((e: unknown) => {
    if (streamed && !signal.aborted) (o.context as Readable).resume();
    throw e;
  });
  try {
    return await buildFrom(o, store, input, { t0, signal, cwd, tags, push, emit: hooks.onEvent ?? (() => {}), onDiagnostic: hooks.onDiagnostic });
  } finally {
    await input.dispose();
  }
}

interface Run {
  readonly t0: number;
  readonly signal: AbortSignal;
  readonly cwd: string;
  /** The image's names, each once. */
  readonly tags: readonly Reference[];
  readonly push: ReturnType<typeof pushTargets>;
  readonly emit: (e: BuildEvent) => void;
  readonly onDiagnostic: ((d: Diagnostic) => void) | undefined;
}

async function buildFrom(o: BuildOptions, store: Store, input: BuildInput, r: Run): Promise<BuildResult> {
  // TARGETPLATFORM: --platform (one this machine can run), else the host's; steps run here either way.
  const platform = o.platform ? runnablePlatform(o.platform) : hostPlatform();
  // A failed step is reported at its Dockerfile line (build-failure.ts).
  const failure = failureLocator(new SourceFile(input.dockerfileName, input.text));
  const run: Run = { ...r, emit: failure.watch(r.emit) };
  // The store's record of plain-http registries comes with it, as for pull and push.
  const registry = withStoreRegistry(o.registry, o.root);
  const puller = makePuller(registry, o.root, store, platform, { always: o.pull === true, emit: run.emit, t0: r.t0, signal: r.signal });
  const cacheTo = (o.cacheTo ?? []).map((s) => (typeof s === 'string' ? parseCacheTo(s) : s));
  const cacheFrom = (o.cacheFrom ?? []).map((s) => (typeof s === 'string' ? parseCacheFrom(s) : s));
  const cacheEnds = openCacheEnds({ cwd: r.cwd, registry }, cacheFrom, cacheTo);
  const cacheReads = readCacheSources(cacheEnds.sources);
  try {
    return await buildWith(o, store, input, run, platform, puller, { ...cacheEnds, reads: cacheReads }, cacheTo, failure);
  } catch (e) {
    const located = r.signal.aborted ? undefined : failure.diagnose(e);
    throw located ? new StepFailure(e as UserError, located) : e;
  } finally {
    await cacheEnds.close();
    await puller.close();
  }
}

async function buildWith(o: BuildOptions, store: Store, input: BuildInput, r: Run, platform: Platform, puller: Puller, cacheEnds: CacheEnds & { reads: readonly CacheRead[] }, cacheTo: readonly CacheToSpec[], failure: FailureLocator): Promise<BuildResult> {
  const { t0, emit, signal } = r;
  const root = o.root;
  const buildArgs = o.buildArgs instanceof Map ? new Map(o.buildArgs) : new Map(Object.entries(o.buildArgs ?? {}));
  const tags = r.tags;
  const names = o.names ?? (o.tags ?? []).filter((t): t is string => typeof t === 'string');
  const policy = o.policy ?? defaultPolicy(o.network ?? 'default');
  // Front end: parse, scope, plan, once. Base images are read from the store as FROM lines name
  // them (their Env is needed for expansion); one that cannot be read is left to the FROM step.
  const file = failure.file;
  const parsed = parseDockerfileKept(file, join(root, 'cache', 'parsed'));
  let diags: Diagnostic[] = [...parsed.diagnostics];
  let plan;
  if (parsed.ast) {
    const opts = { buildArgs, target: o.target, targetPlatform: platform, buildPlatform: hostPlatform(), checkReference: checkBaseReference };
    // At the first base image the store lacks (any, under --pull), every image the target needs
    // starts pulling, all at once: a first plan without the images' configs names them (FROM
    // lines expand with global ARGs only). A build from stored images plans once.
    const ast = parsed.ast;
    let prefetched = false;
    const images: BaseImageResolver = {
      config: async (ref) => {
        try {
          let img = await puller.stored(ref);
          if (!img) {
            if (!prefetched) {
              prefetched = true;
              puller.prefetch(imagesOf(planDockerfile(ast, opts).plan));
            }
            img = await puller.image(ref);
          }
          return img.config.config ?? {};
        } catch {
          // left to the FROM step, which says what is wrong
          return undefined;
        }
      },
    };
    const planned = await planDockerfileAsync(parsed.ast, opts, images, parsed.diagnostics);
    diags = planned.diagnostics;
    plan = planned.plan;
    if (plan) diags.push(...checkEntitlements(plan, policy.allowed, file));
  }
  for (const d of diags) r.onDiagnostic?.(d);
  if (!plan || diags.some((d) => d.severity === 'error')) throw new DiagnosticError(diags.filter((d) => d.severity === 'error'));
  failure.setPlan(plan);
  const lineOf = (v: Vertex) => (v.label.startsWith('[onbuild]') ? undefined : file.position(v.instruction.node.range.start).line);
  emit({ type: 'build-graph', stages: buildGraph(plan, lineOf), at: Math.round(nowMs() - t0) });
  const noCacheStages = new Set<number>();
  for (const f of o.noCacheStages ?? []) {
    const i = /^\d+$/.test(f) ? Number(f) : plan.allStageNames.findIndex((n) => n === f.toLowerCase());
    if (i < 0 || i >= plan.allStageNames.length) throw new UserError(BAD_CACHE_FILTER, `--no-cache-filter ${f}: no such stage`);
    noCacheStages.add(i);
  }

  // A streamed context unpacked into a new temp dir (another build of its key was running): its
  // key stands in for the dir. Unpacked over its kept dir, the dir's own stat cache serves.
  const streamKey = !input.persistentStatCache ? input.streamKey : undefined;
  const opened = await openContext({
    contextDir: input.contextDir,
    dockerfile: input.dockerfilePath,
    ...(input.persistentStatCache || streamKey !== undefined ? { storeRoot: root } : {}),
    ...(streamKey !== undefined ? { streamKey } : {}),
    hasher: loadXxh64,
  });
  if (!opened.ok) throw new UserError(opened.error.code, opened.error.message);
  const buildContext = opened.value;

  const lease = await store.lease();
  let stateDir: Promise<string> | undefined;
  const snapshots = openSnapshots(root, lease.blobs, { deferLayerFlush: true });
  // One spare network: RUNs after the first find theirs ready (network-pool.ts says why one).
  const executor = createLazyOciExecutor({
    stateDir: () => (stateDir ??= runtimeStateDir(store)), runtime: o.runtime ?? 'auto', spareNetworks: 1,
    ...(o.searchPath !== undefined ? { searchPath: o.searchPath } : {}),
    ...(o.runtimeCacheDir !== undefined ? { cacheDir: o.runtimeCacheDir } : {}),
  });
  const workDirs = keptWorkDirs(store);
  let workDirsGone: Promise<void> | undefined;
  try {
    signal.throwIfAborted();
    const at = () => Math.round(nowMs() - t0);
    const imports = await importCaches(cacheEnds.sources, { local: openCache(root, store), store, blobs: lease.blobs, emit, now: at }, cacheEnds.reads);
    const deps = {
      store,
      blobs: lease.blobs,
      protect: (d: Parameters<typeof lease.add>[0]) => lease.add(d),
      snapshots: lazySnapshots(snapshots, imports.ensure),
      executor,
      workDirs,
      context: buildContext,
      platform,
      ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
      compression: o.compression ?? 'none',
      incrementalCopy: !o.noCache && noCacheStages.size === 0,
      ...(o.fsWrite ? { fsWrite: o.fsWrite } : {}),
      signal,
      network: o.network ?? 'default',
      extraHosts: o.extraHosts ?? [],
      limits: policy.limits,
      secrets: new Map(o.secrets ?? []),
      sshAgents: new Map(o.sshAgents ?? []),
      loadImage: (ref: string, p: Platform) => puller.image(ref, p),
    };
    // Misses are explained against the previous build of the same target (a stdin context's
    // temp dir is new each time, so it has none).
    const history = openBuildHistory(root);
    const identity =
      input.streamKey !== undefined
        ? { dockerfile: '', context: `stream:${input.streamKey}`, target: o.target ?? '' }
        : { dockerfile: input.dockerfilePath, context: input.contextDir, target: o.target ?? '' };
    const keepHistory = input.persistentStatCache || input.streamKey !== undefined;
    const baseline = keepHistory ? history.last(identity) : undefined;
    // A result kept here needs the layers of its own stage's hits: each is fetched as soon as its
    // step hits, while the solve goes on (not when it has finished). A pushed result does not:
    // its push mounts them from the cache's registry.
    const prefetch = cacheEnds.sources.length > 0 && (o.output !== undefined || (tags.length > 0 && !r.push));
    const solveEmit = !prefetch
      ? emit
      : (e: BuildEvent) => {
          if (e.type === 'step-cached' && e.step.stage === plan.target) {
            const rec = imports.view.used().get(e.key as Sha256);
            // A failure is the later ensure's to report (it tries again).
            if (rec) imports.ensure([{ descriptor: rec.layer, diffId: rec.diffId }]).catch(() => undefined);
          }
          emit(e);
        };
    // The first step that runs with a RUN at or after it in its stage: the executor gets ready
    // (chooses its runtime, starts its launch server) beside it, not in the first RUN. A build whose
    // RUNs are all cached starts nothing (a changed COPY at the end: starting the launch server was
    // a few ms of a 90 ms build).
    const beforeRun = stepsUpToLastRun(plan);
    let prepared = beforeRun.size === 0;
    const stepEmit = (e: BuildEvent): void => {
      if (!prepared && e.type === 'step-started' && beforeRun.has(e.step.id)) {
        prepared = true;
        executor.prepare();
      }
      solveEmit(e);
    };
    const solveOpts = { cache: imports.view, emit: stepEmit, noCache: o.noCache === true, noCacheStages, signal, startedAt: t0, lineOf, ...(baseline ? { baseline } : {}) };
    const result = await solve(plan, buildOps(deps), solveOpts);
    // No step runs after the solve: the spare network goes while the image is written. Killed,
    // not waited for: slirp4netns takes ~20 ms to exit (network.ts), and the build does not need it.
    void executor.close();
    workDirsGone = workDirs.close(); // on the thread pool while the image is written
    const withLines = stepsWithLines(result.steps, plan, file);
    const changedBefore = keepHistory ? history.changed(identity) : new Map<string, number>();
    const explained = o.explain ? buildAdvice(plan, file, result.misses, changedBefore, buildContext.entries) : undefined;
    if (keepHistory) history.save(identity, withLines, explained?.changed ?? changedStreaks(result.misses, changedBefore));
    let draft = result.target.draft;
    const labels = o.labels ?? {};
    if (Object.keys(labels).length) draft = updateContainerConfig(draft, { Labels: { ...(draft.config.config?.Labels ?? {}), ...labels } });
    draft = withInlineCache(draft, cacheTo.some((t) => t.type === 'inline') ? imports : undefined, result.target.key);
    const settled = settleTimes(draft, o.sourceDateEpoch);
    // The result keeps its layers when it is tagged or written out; an untagged build whose steps
    // all hit imported records fetches nothing (its image ID is still printed). A pushed result
    // fetches only what its push cannot mount.
    const layerRefs = draft.layers.map((descriptor, i) => ({ descriptor, diffId: draft.config.rootfs.diff_ids[i]! }));
    if (o.output || (tags.length && !r.push)) await imports.ensure(layerRefs);
    const image = await commitImage(lease.blobs, settled.draft, { created: settled.created });
    const setTags = async () => {
      for (const t of tags) await store.setTag(t, image.manifestDescriptor);
    };
    if (!r.push) await setTags();
    if (o.output) await writeOutputImage(store, image, tags[0], o.output.type, typeof o.output.dest === 'string' ? resolve(r.cwd, o.output.dest) : o.output.dest);
    for (const [i, spec] of cacheTo.entries()) {
      const dest = cacheEnds.dests[i];
      if (spec.type !== 'inline' && dest) await exportCache(spec, dest, imports, result.target.key, { store, blobs: lease.blobs, cacheMountIds: cacheMountIds(plan), emit, now: at });
    }
    const metadata: BuildMetadata = {
      'containerimage.digest': image.manifestDescriptor.digest,
      'containerimage.config.digest': image.id,
      ...(names.length ? { 'image.name': names.join(',') } : {}),
      'wharf.steps': withLines,
      'wharf.context': buildContext.stats(),
      ...(explained ? { 'wharf.advice': explained.advice } : {}),
    };
    if (explained) emit({ type: 'advice', advice: explained.advice, at: at() });
    emit({
      type: 'build-done',
      ...(names[0] ? { name: names[0] } : {}),
      // Every name, in full: the summaries' "naming to docker.io/library/app:1" lines.
      ...(tags.length ? { names: tags.map((t) => fullName(t.tag || t.digest ? t : { ...t, tag: 'latest' })) } : {}),
      imageId: image.id,
      durationMs: Math.round(nowMs() - t0),
      steps: result.steps.length,
      cached: result.steps.filter((s) => s.cached).length,
      context: buildContext.stats(),
      ...(cacheEnds.sources.length ? { cacheFetched: imports.fetched() } : {}),
      at: Math.round(nowMs() - t0),
    });
    let stored = true;
    if (r.push) {
      const diffIds = new Map(layerRefs.map((l) => [l.descriptor.digest, l.diffId] as const));
      const remote: RemoteLayers = {
        origin: (d) => imports.sourceRepository(d),
        fetch: (d) => imports.ensure([{ descriptor: d, diffId: diffIds.get(d.digest)! }]),
      };
      try {
        await pushBuilt(image, remote, r.push, { store, registry: withStoreRegistry(o.registry, root), emit, t0, signal });
      } catch (e) {
        // The image stays here, tagged, for `wharf push` to try again (if its layers can be had).
        if (await imports.ensure(layerRefs).then(() => true, () => false)) await setTags();
        throw e;
      }
      for (const l of draft.layers) if (!(await lease.blobs.has(l.digest))) stored = false;
      if (stored) await setTags();
      else emit({ type: 'push-not-stored', names: tags.map((t) => fullName(t)), at: at() });
    }
    await imports.persist();
    return { imageId: image.id, digest: image.manifestDescriptor.digest, names, image, steps: result.steps, metadata, stored };
  } finally {
    void executor.close(); // a failed or interrupted solve (a second call does nothing)
    await (workDirsGone ?? workDirs.close()).catch(() => undefined);
    // Fingerprints taken before a failure are still right: keep them for the next attempt.
    await buildContext.close().catch(() => {});
    // Snapshots unpacked or written without a mount were not synced (durable.ts): one sync for all.
    await snapshots.flush({ background: true });
    // A failed build's last layer (putBytesDeferred) goes into blobs/ as any other: its cache record
    // names it. Before the lease that keeps it ends.
    await lease.blobs.settle?.().catch(() => undefined);
    await lease.release();
    const made = await stateDir?.catch(() => undefined);
    // A few dirs on tmpfs (the runtime's state, empty bundles dir): removed in place, not through the thread pool.
    if (made) rmSync(made, { recursive: true, force: true });
  }
}

/** No entitlements beyond what the network asks, the default limits (pids). */
function defaultPolicy(network: string): RunPolicy {
  const p = parseRunPolicy({ allow: [], ulimit: [], network });
  if (!p.ok) throw new Error(p.error);
  return p.value;
}

/** The code of the UserError for a `--no-cache-filter` naming no stage (a usage error to the CLI). */

const uniqueRefs = (refs: Reference[]): Reference[] => [...new Map(refs.map((r) => [fullName(r.tag || r.digest ? r : { ...r, tag: 'latest' }), r])).values()];

/** oci and docker: one archive that is both (as `wharf save` writes); tar/local: the flattened filesystem. */
async function writeOutputImage(store: Store, image: CommittedImage, ref: Reference | undefined, type: FileOutputType, dest: OutputDest): Promise<void> {
  const img = { manifest: image.manifest };
  if (type === 'local') {
    if (typeof dest !== 'string') throw new UserError('build.bad-output', `output type=local writes a directory, not to ${dest.name}`, 'give dest=DIR, or type=tar for a stream');
    return exportRootfs(store, img, dest);
  }
  if (type === 'tar') {
    const scratch = await store.tempDir('export');
    try {
      return await exportRootfsTar(store, img, dest, scratch);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  // Without -t the archive holds the image unnamed (docker allows that too).
  await writeArchive(store, [{ target: image.manifestDescriptor, manifest: image.manifest, id: image.id, ...(ref ? { ref } : {}) }], dest);
}

/** The ids of every RUN --mount=type=cache of the plan (an id defaults to the target). */
function cacheMountIds(plan: Plan): string[] {
  const ids: string[] = [];
  for (const stage of plan.stages) {
    for (const v of stage.vertices) if (v.kind === 'run') for (const m of v.instruction.mounts) if (m.type === 'cache') ids.push(m.id ?? m.target!);
  }
  return ids;
}

/** The images a plan reads: stages' FROM bases, COPY --from and mount from= images. */
function imagesOf(plan: Plan | undefined): Set<string> {
  const out = new Set<string>();
  for (const st of plan?.stages ?? []) {
    if (st.base.kind === 'image') out.add(st.base.ref);
    for (const i of st.images) out.add(i);
  }
  return out;
}

/** Writes a small file the caller asked for (iidfile); a bad path is the user's to fix. */
export async function writeOutput(path: string, data: string, flag: string): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (e) {
    throw new UserError('build.output-unwritable', `${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'the image was built and tagged; give a writable file path');
  }
}
