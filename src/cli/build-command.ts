// Implementation of `wharf build`, loaded lazily by its command module: wiring only.
import { rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CliContext } from './context.js';
import type { BuildFlags } from './build-options.js';
import { openCliStore } from './open-store.js';
import { exportRootfs, exportRootfsTar, writeArchive, type OutputDest } from '../archive/index.js';
import { fullName, type Store, type Reference } from '../store/index.js';
import { parseBuildArgs } from './build-args.js';
import { SourceFile, type Diagnostic } from '../diag/index.js';
import { failureLocator, reportDiagnostics, reportFailure, type FailureLocator } from './build-failure.js';
import { UserError, hostPlatform, isUserError, type Platform } from '../util/index.js';
import { loadXxh64 } from '../hash/index.js';
import { parseDockerfile } from '../syntax/index.js';
import type { BaseImageResolver } from '../instructions/index.js';
import { checkEntitlements, planDockerfile, planDockerfileAsync, type Plan } from '../plan/index.js';
import { parseRunPolicy, type RunPolicy } from './build-limits.js';
import { openContext } from '../context/index.js';
import { commitImage, updateContainerConfig, type CommittedImage, loadImage, parseTagName, settleTimes } from '../image/index.js';
import { openSnapshots } from '../snapshot/index.js';
import { createLazyOciExecutor } from '../runtime/index.js';
import { openCache } from '../cache/index.js';
import { solve } from '../solver/index.js';
import { createRenderer, type BuildEvent, type ProgressMode } from '../progress/index.js';
import { interruptSignal } from './interrupt.js';
import { runtimeStateDir } from './runtime-state.js';
import { buildOps } from '../ops/index.js';
import { stepsWithLines, type BuildMetadata } from './build-metadata.js';
import { readSecretFlags, readSshFlags } from './build-secrets.js';
import { openBuildInput, type BuildInput } from './build-input.js';
import { parseSourceDateEpoch } from './source-date-epoch.js';
import type { Compression } from '../layer/index.js';
import { makePuller, makeRegistryHttp, pushNamed, pushOptions, type Puller } from './registry.js';
import type { PushOptions } from '../registry/index.js';
import { parseCacheFrom, parseCacheTo, type CacheFromSpec, type CacheToSpec } from './cache-options.js';
import { exportCache, importCaches, lazySnapshots, withInlineCache } from './cache-exchange.js';
import { openCacheEnds, type CacheEnds } from './cache-ends.js';
import { runnablePlatform } from './platform.js';
import { parseOutput, type FileOutputType } from './output-spec.js';
import { refuseTerminal } from './archive-commands.js';

const MODES = ['auto', 'tty', 'plain', 'json', 'quiet'];
const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'zstd'];

export async function runBuild(ctx: CliContext, root: string, context: string, flags: BuildFlags): Promise<number> {
  const t0 = performance.now();
  if (!MODES.includes(flags.progress)) {
    ctx.stderr.write(`error: --progress ${flags.progress}: use one of ${MODES.join(', ')}\n`);
    return 2;
  }
  const mode: ProgressMode = flags.progress === 'auto' ? (ctx.stderr.isTTY ? 'tty' : 'plain') : (flags.progress as ProgressMode);
  if (flags.network !== 'none' && flags.network !== 'host' && flags.network !== 'default') {
    ctx.stderr.write(`error: --network ${flags.network}: use none (loopback only, the default) or host\n`);
    return 2;
  }
  const policy = parseRunPolicy(flags);
  if (!policy.ok) {
    ctx.stderr.write(`error: ${policy.error}\n`);
    return 2;
  }
  const labels: Record<string, string> = {};
  for (const l of flags.label) {
    const eq = l.indexOf('=');
    if (eq <= 0) {
      ctx.stderr.write(`error: --label ${l}: write --label KEY=value\n`);
      return 2;
    }
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  if (!COMPRESSIONS.includes(flags.compression as Compression)) {
    ctx.stderr.write(`error: --compression ${flags.compression}: use one of ${COMPRESSIONS.join(', ')}\n`);
    return 2;
  }
  const secrets = await readSecretFlags(flags.secret, ctx.env, ctx.cwd);
  const sshAgents = await readSshFlags(flags.ssh, ctx.env, ctx.cwd);
  if (!secrets.ok || !sshAgents.ok) {
    ctx.stderr.write(`error: ${!secrets.ok ? secrets.error : !sshAgents.ok ? sshAgents.error : ''}\n`);
    return 2;
  }
  const output = flags.output === undefined ? undefined : parseOutput(flags.output);
  if (output && 'error' in output) {
    ctx.stderr.write(`error: --output ${flags.output}: ${output.error}\n`);
    return 2;
  }
  if (output && 'dest' in output && output.dest === '-') {
    refuseTerminal(ctx.stdout, `--output ${flags.output}`, 'redirect stdout to a file or a pipe, or give dest=FILE');
    if (mode === 'quiet') {
      ctx.stderr.write(`error: --output ${flags.output}: -q prints the image ID on stdout, where the archive goes; drop -q (or use --iidfile)\n`);
      return 2;
    }
  }
  const tags = flags.tag.map((t) => parseTagName(t, '-t'));
  // -o type=image,name=… names the image as -t does; --push and push=true (type=registry) push
  // every name it has.
  const named = output && output.type === 'image' ? output.names.map((n) => parseTagName(n, '-o name=')) : [];
  const pushing = flags.push === true || (output?.type === 'image' && output.push);
  const pushes = pushing ? uniqueRefs([...tags, ...named]) : [];
  if (pushing && !pushes.length) {
    ctx.stderr.write(`error: ${flags.push ? '--push' : `--output ${flags.output}`}: nothing to push to: name the image with -t NAME (or -o type=registry,name=NAME)\n`);
    return 2;
  }
  const pushOpts = pushes.length ? pushOptions({}) : undefined;
  const cacheTo = (flags.cacheTo ?? []).map(parseCacheTo);
  const cacheFrom = (flags.cacheFrom ?? []).map(parseCacheFrom);
  const buildArgs = parseBuildArgs(flags.buildArg, ctx.env);
  // As BuildKit: the environment's SOURCE_DATE_EPOCH, or the build arg of that name (which wins).
  const sourceDateEpoch = buildArgs.has('SOURCE_DATE_EPOCH')
    ? parseSourceDateEpoch(buildArgs.get('SOURCE_DATE_EPOCH'), '--build-arg SOURCE_DATE_EPOCH')
    : parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH);

  const store = await openCliStore(root);
  // Hooked before stdin is read: Ctrl-C while a context tar streams in still removes its temp dir.
  const interrupt = interruptSignal(() => new UserError('build.interrupted', 'build interrupted'));
  let input: BuildInput | undefined;
  try {
    input = await openBuildInput(store, { cwd: ctx.cwd, context, file: flags.file, stdin: process.stdin, signal: interrupt.signal });
    const built: { image?: CommittedImage } = {};
    const code = await buildFrom(ctx, root, store, input, built, { flags, t0, mode, labels, output: output?.type === 'image' ? undefined : output, tags: uniqueRefs([...tags, ...named]), buildArgs, sourceDateEpoch, cacheTo, cacheFrom, secrets: secrets.value, sshAgents: sshAgents.value, policy: policy.value, signal: interrupt.signal });
    if (code !== 0 || !built.image || !pushes.length) return code;
    return await pushBuilt(ctx, store, built.image, pushes, pushOpts!, mode, interrupt.signal);
  } catch (e) {
    // An abort from Ctrl-C surfaces as whatever was interrupted; report it as the interruption,
    // with the exit status of a process that signal stopped (130, 143), as `load` has.
    if (interrupt.signal.aborted) {
      const message = (interrupt.signal.reason as Error).message;
      ctx.stderr.write(mode === 'json' ? JSON.stringify({ type: 'build-failed', code: 'build.interrupted', message, at: Math.round(performance.now() - t0) }) + '\n' : `error: ${message}\n`);
      return interrupt.exitCode;
    }
    // A push that fails after the build: the json stream still ends with its build-failed event.
    if (mode === 'json' && isUserError(e)) {
      ctx.stderr.write(JSON.stringify({ type: 'build-failed', code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}), at: Math.round(performance.now() - t0) }) + '\n');
      return 1;
    }
    throw e;
  } finally {
    interrupt.dispose();
    await input?.dispose();
  }
}

interface BuildSettings {
  readonly flags: BuildFlags;
  readonly t0: number;
  readonly mode: ProgressMode;
  readonly labels: Record<string, string>;
  readonly output: { type: FileOutputType; dest: string } | undefined;
  readonly tags: readonly Reference[];
  readonly buildArgs: Map<string, string>;
  readonly sourceDateEpoch: number | undefined;
  readonly cacheTo: readonly CacheToSpec[];
  readonly cacheFrom: readonly CacheFromSpec[];
  /** `--secret` values by id and `--ssh` agent sockets by id, read by the CLI. */
  readonly secrets: Map<string, Uint8Array>;
  readonly sshAgents: Map<string, string>;
  /** `--allow` and the RUN resource limits. */
  readonly policy: RunPolicy;
  readonly signal: AbortSignal;
}

async function buildFrom(ctx: CliContext, root: string, store: Store, input: BuildInput, built: { image?: CommittedImage }, s: BuildSettings): Promise<number> {
  // TARGETPLATFORM: --platform (one this machine can run), else the host's; steps run here either way.
  const platform = s.flags.platform ? runnablePlatform(s.flags.platform) : hostPlatform();
  // Made before planning: base images are pulled while the Dockerfile resolves, and their
  // progress is part of the build's event stream.
  // Colours only on a terminal, and never with NO_COLOR set (no-color.org: any non-empty value).
  const renderer = createRenderer(s.mode, s.mode === 'quiet' ? ctx.stdout : ctx.stderr, { color: ctx.stderr.isTTY === true && !ctx.env.NO_COLOR });
  // A failed step is reported at its Dockerfile line (cli/build-failure.ts).
  const failure = failureLocator(new SourceFile(input.dockerfileName, input.text));
  const emit = failure.watch((e: BuildEvent) => renderer.sink(e));
  const puller = makePuller(ctx, root, store, platform, { always: s.flags.pull === true, emit, t0: s.t0, signal: s.signal });
  const cacheEnds = openCacheEnds(ctx, s.cacheFrom, s.cacheTo);
  let caught: { e: unknown } | undefined;
  try {
    return await buildWith(ctx, root, store, input, s, platform, puller, emit, cacheEnds, built, failure);
  } catch (e) {
    if (s.signal.aborted) throw e;
    caught = { e };
  } finally {
    await cacheEnds.close();
    await puller.close();
    renderer.close();
  }
  const code = reportFailure(ctx.stderr, s.mode === 'json', failure, caught.e, Math.round(performance.now() - s.t0));
  if (code === undefined) throw caught.e;
  return code;
}

async function buildWith(ctx: CliContext, root: string, store: Store, input: BuildInput, s: BuildSettings, platform: Platform, puller: Puller, emit: (e: BuildEvent) => void, cacheEnds: CacheEnds, built: { image?: CommittedImage }, failure: FailureLocator): Promise<number> {
  const { flags, t0, labels, output, tags, buildArgs } = s;
  // Front end: parse, scope, plan, once. Base images are read from the store as FROM lines name
  // them (their Env is needed for expansion); one that cannot be read is left to the FROM step.
  const file = failure.file;
  const parsed = parseDockerfile(file);
  let diags: Diagnostic[] = [...parsed.diagnostics];
  let plan;
  if (parsed.ast) {
    // A missing base is pulled here, before planning: its Env and ONBUILD shape the plan.
    const images: BaseImageResolver = {
      config: (ref) => puller.ensure(ref).then(() => loadImage(store, ref, platform)).then((img) => img.config.config ?? {}, () => undefined),
    };
    const opts = { buildArgs, target: flags.target, targetPlatform: platform, buildPlatform: hostPlatform() };
    // Every image the target needs starts pulling now, all at once: a first plan without the
    // images' configs names them (FROM lines expand with global ARGs only), and the real plan
    // below waits for each one as it gets to it.
    puller.prefetch(imagesOf(planDockerfile(parsed.ast, opts).plan));
    const planned = await planDockerfileAsync(parsed.ast, opts, images, parsed.diagnostics);
    diags = planned.diagnostics;
    plan = planned.plan;
    if (plan) diags.push(...checkEntitlements(plan, s.policy.allowed, file));
  }
  reportDiagnostics(ctx.stderr, s.mode === 'json', diags, Math.round(performance.now() - t0));
  if (!plan || diags.some((d) => d.severity === 'error')) return 1;
  failure.setPlan(plan);
  const noCacheStages = new Set<number>();
  for (const f of flags.cacheFilter) {
    const i = /^\d+$/.test(f) ? Number(f) : plan.allStageNames.findIndex((n) => n === f.toLowerCase());
    if (i < 0 || i >= plan.allStageNames.length) {
      ctx.stderr.write(`error: --no-cache-filter ${f}: no such stage\n`);
      return 2;
    }
    noCacheStages.add(i);
  }

  const opened = await openContext({
    contextDir: input.contextDir,
    dockerfile: input.dockerfilePath,
    ...(input.persistentStatCache ? { storeRoot: root } : {}),
    hasher: loadXxh64,
  });
  if (!opened.ok) throw new UserError(opened.error.code, opened.error.message);
  const buildContext = opened.value;

  const lease = await store.lease();
  let stateDir: Promise<string> | undefined;
  try {
    s.signal.throwIfAborted();
    const at = () => Math.round(performance.now() - t0);
    const imports = await importCaches(cacheEnds.sources, { local: openCache(root, store), store, blobs: lease.blobs, emit, now: at });
    const deps = {
      store,
      blobs: lease.blobs,
      protect: (d: Parameters<typeof lease.add>[0]) => lease.add(d),
      snapshots: lazySnapshots(openSnapshots(root, lease.blobs), imports.ensure),
      executor: createLazyOciExecutor({ stateDir: () => (stateDir ??= runtimeStateDir(store)), ...(ctx.env.PATH !== undefined ? { searchPath: ctx.env.PATH } : {}) }),
      context: buildContext,
      platform,
      ...(s.sourceDateEpoch !== undefined ? { sourceDateEpoch: s.sourceDateEpoch } : {}),
      compression: flags.compression as Compression,
      incrementalCopy: flags.cache && noCacheStages.size === 0,
      signal: s.signal,
      network: flags.network === 'host' ? ('host' as const) : ('none' as const),
      limits: s.policy.limits,
      secrets: s.secrets,
      sshAgents: s.sshAgents,
      ensureImage: (ref: string) => puller.ensure(ref),
    };
    const result = await solve(plan, buildOps(deps), { cache: imports.view, emit, noCache: !flags.cache, noCacheStages, signal: s.signal, startedAt: t0 });
    let draft = result.target.draft;
    if (Object.keys(labels).length) draft = updateContainerConfig(draft, { Labels: { ...(draft.config.config?.Labels ?? {}), ...labels } });
    draft = withInlineCache(draft, s.cacheTo.some((t) => t.type === 'inline') ? imports : undefined, result.target.key);
    const settled = settleTimes(draft, s.sourceDateEpoch);
    // The result keeps its layers when it is tagged or written out; an untagged build whose steps
    // all hit imported records fetches nothing (its image ID is still printed).
    if (tags.length || output) await imports.ensure(draft.layers.map((descriptor, i) => ({ descriptor, diffId: draft.config.rootfs.diff_ids[i]! })));
    const image = await commitImage(lease.blobs, settled.draft, { created: settled.created });
    for (const t of tags) await store.setTag(t, image.manifestDescriptor);
    built.image = image;
    if (output) await writeOutputImage(store, image, tags[0], output.type, output.dest === '-' ? { stream: ctx.stdout, name: 'stdout' } : resolve(ctx.cwd, output.dest));
    for (const [i, spec] of s.cacheTo.entries()) {
      const dest = cacheEnds.dests[i];
      if (spec.type !== 'inline' && dest) await exportCache(spec, dest, imports, result.target.key, { store, blobs: lease.blobs, cacheMountIds: cacheMountIds(plan), emit, now: at });
    }
    await imports.persist();
    const names = flags.tag;
    if (flags.iidfile) await writeOutput(resolve(ctx.cwd, flags.iidfile), image.id, '--iidfile');
    if (flags.metadataFile) {
      const meta: BuildMetadata = {
        'containerimage.digest': image.manifestDescriptor.digest,
        'containerimage.config.digest': image.id,
        ...(names.length ? { 'image.name': names.join(',') } : {}),
        'wharf.steps': stepsWithLines(result.steps, plan, file),
        'wharf.context': buildContext.stats(),
      };
      await writeOutput(resolve(ctx.cwd, flags.metadataFile), JSON.stringify(meta, null, 2) + '\n', '--metadata-file');
    }
    emit({
      type: 'build-done',
      ...(names[0] ? { name: names[0] } : {}),
      ...(tags.length ? { names: tags.map((t) => fullName(t.tag || t.digest ? t : { ...t, tag: 'latest' })) } : {}),
      imageId: image.id,
      durationMs: Math.round(performance.now() - t0),
      steps: result.steps.length,
      cached: result.steps.filter((s) => s.cached).length,
      context: buildContext.stats(),
      ...(cacheEnds.sources.length ? { cacheFetched: imports.fetched() } : {}),
      at: Math.round(performance.now() - t0),
    });
    return 0;
  } finally {
    // Fingerprints taken before a failure are still right: keep them for the next attempt.
    await buildContext.close().catch(() => {});
    await lease.release();
    const made = await stateDir?.catch(() => undefined);
    if (made) await rm(made, { recursive: true, force: true });
  }
}

const uniqueRefs = (refs: Reference[]): Reference[] => [...new Map(refs.map((r) => [fullName(r.tag || r.digest ? r : { ...r, tag: 'latest' }), r])).values()];

/**
 * `--push`: each name in turn, after the image is stored and tagged; a failure leaves it tagged
 * here and says so. Lines as `docker push` prints them go to stderr, with the build's output (a
 * `pushed` event with --progress json).
 */
async function pushBuilt(ctx: CliContext, store: Store, image: CommittedImage, names: Reference[], opts: PushOptions, mode: ProgressMode, signal: AbortSignal): Promise<number> {
  const plain = mode === 'tty' || mode === 'plain';
  const http = makeRegistryHttp(ctx);
  try {
    for (const n of names) {
      const tagged: Reference = n.tag ? n : { ...n, tag: 'latest' };
      try {
        const r = await pushNamed(http, store, tagged, { ...opts, signal }, plain ? ctx.stderr : undefined);
        // --progress json keeps stderr one JSON event per line; quiet prints nothing more.
        if (plain) ctx.stderr.write(`pushed ${fullName(tagged)}@${r.digest}\n`);
        else if (mode === 'json') ctx.stderr.write(JSON.stringify({ type: 'pushed', name: fullName(tagged), digest: r.digest, size: r.size, mediaType: r.mediaType }) + '\n');
      } catch (e) {
        if (!isUserError(e) || signal.aborted) throw e;
        const local = fullName(tagged);
        throw new UserError(e.code, `pushing ${local}: ${e.message}`, `${e.hint ? `${e.hint}; ` : ''}the image ${image.id.slice(0, 19)} is built and tagged ${local} here: \`wharf push ${local}\` tries again`);
      }
    }
    return 0;
  } finally {
    await http.close();
  }
}

/** oci and docker: one archive that is both (as `wharf save` writes); tar/local: the flattened filesystem. */
async function writeOutputImage(store: Store, image: CommittedImage, ref: Reference | undefined, type: FileOutputType, dest: OutputDest): Promise<void> {
  const img = { manifest: image.manifest };
  if (type === 'local') return exportRootfs(store, img, dest as string);
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

/** The image is built and tagged by now; a bad output path is the user's to fix, not a crash. */
async function writeOutput(path: string, data: string, flag: string): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (e) {
    throw new UserError('build.output-unwritable', `${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'the image was built and tagged; give a writable file path');
  }
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
