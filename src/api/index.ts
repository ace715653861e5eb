/**
 * wharf as a library: `import { build, pull, push, openStore } from 'wharf'`. The CLI and the
 * server are users of exactly this; nothing here prints, reads the process's environment or exits:
 * settings come in as options, progress goes out as events, failures are thrown (UserError for
 * the caller's mistakes, DiagnosticError for a Dockerfile with errors).
 */
import './native.js';
export type { BuildOptions, BuildHooks, BuildResult, FileOutputType } from './build.js';
export type { BuildPushOptions } from './build-push.js';
export type { BenchOptions, BenchHooks, BenchBuild, BenchEvent } from './bench.js';
export type { BenchMode, BenchReport, MeasuredRun, RunReport, StepName, StepSummaryLine } from './bench-report.js';
export { build, bench, BAD_CACHE_FILTER, BENCH_USAGE, NOTHING_TO_PUSH, writeOutput, run, plan, planCacheState, loadContainers, type ContainersApi } from './lazy.js';
export { StepFailure, type LocatedFailure } from './build-failure.js';
export { pull, push, type PullOptions, type PullResult, type PushApiOptions, type Hooks } from './pull-push.js';
export { openStore, imageStore, findImage, refsToRemove, type ImageStore, type ImageEntry, type ImageFilter, type ImportOptions, type PruneOptions, type PruneResult, type RemoveResult } from './images.js';
export { parseDuration } from './cache-prune.js';
export type { FsckResult } from './fsck.js';
export { login, logout, loginDomain, type LoginOptions } from './login.js';
export { openApiStore } from './open-store.js';
export type { RunOptions, RunHooks } from './run.js';
export type * as containers from './containers.js';
export { makePuller, makeRegistryClient, withRegistry, pullProgress, pushNamed, pushOptions, type Puller, type PullerOptions, type PushFlags } from './registry.js';
export { parseBuildArgs, parsePlatform } from './build-args.js';
export { checkBaseReference } from './base-reference.js';
export { parseBuildNetwork, type BuildNetwork } from './build-network.js';
export { runnablePlatform } from './platform.js';
export { parseRunPolicy, parseSize, type RunPolicy, type LimitFlags } from './build-limits.js';
export { buildSourceDateEpoch, parseSourceDateEpoch } from './source-date-epoch.js';
export { parseCacheFrom, parseCacheTo, type CacheFromSpec, type CacheToSpec } from './cache-options.js';
export { MAX_DOCKERFILE_BYTES } from './build-input.js';
export { stepsWithLines, type BuildMetadata, type StepMetadata } from './build-metadata.js';
export { runtimeStateDir, sharedTmpfs, reapDeadRuntimes } from './runtime-state.js';
export type { Advice, AdviceRule, BuildEvent, PullProgress } from '../progress/index.js';
// `wharf build --report/--report-json`: collect a build's events into a record, draw records as one HTML page.
export { reportCollector, renderReportHtml, type BuildRecord, type ReportCollector, type ReportPage } from '../progress/index.js';
export type { Diagnostic } from '../diag/index.js';
export { DiagnosticError, formatDiagnostic } from '../diag/index.js';
export { UserError, isUserError } from '../util/index.js';
export { parseImageName } from '../image/index.js';
export { familiarName, fullName, type Reference, type Store } from '../store/index.js';
export type { RegistryClient, RegistryClientOptions, PushResult } from '../registry/index.js';
export type { PlanOptions, PlanResult } from './plan.js';
export { forgetBuild, type ForgetBuildOptions } from './forget-build.js';
export type { PlanCacheOptions, PlanCacheResult } from './plan-cache.js';
export { plainHttpHostsIn, withStoreRegistry } from './plain-http-hosts.js';
export { pruneStreamedContexts, streamedContextKey } from './build-input.js';
