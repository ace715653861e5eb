/**
 * `wharf plan --cache`: which steps of the plan have a cache record now, i.e. would be cached if
 * the build ran at once. The keys are made as a build makes them (same plan, same context
 * fingerprints, same base images from the store) by the solver itself, with ops whose `execute`
 * does no work: a step's key depends on its inputs and its parent's key, never on its output, so
 * the keys after a miss are known without running it. Nothing is pulled, run or recorded.
 */
import { SourceFile, type Diagnostic } from '../diag/index.js';
import { hostPlatform, UserError } from '../util/index.js';
import { loadXxh64 } from '../hash/index.js';
import { parseDockerfile } from '../syntax/index.js';
import type { BaseImageResolver } from '../instructions/index.js';
import { planDockerfileAsync, type Plan } from '../plan/index.js';
import { openContext } from '../context/index.js';
import { loadImage } from '../image/index.js';
import { openSnapshots } from '../snapshot/index.js';
import { createLazyOciExecutor } from '../runtime/index.js';
import { openCache, type CacheRecord } from '../cache/index.js';
import { solve, type VertexOps } from '../solver/index.js';
import { buildOps } from '../ops/index.js';
import type { Sha256 } from '../hash/index.js';
import { openApiStore } from './open-store.js';
import { runnablePlatform } from './platform.js';
import { checkBaseReference } from './base-reference.js';

export interface PlanCacheOptions {
  readonly root: string;
  readonly contextDir: string;
  /** The Dockerfile's path (for .dockerignore next to it) and text. */
  readonly dockerfilePath: string;
  readonly dockerfileName: string;
  readonly text: string;
  readonly buildArgs: ReadonlyMap<string, string>;
  readonly target?: string;
  readonly platform?: string;
}

export interface PlanCacheResult {
  readonly plan?: Plan;
  readonly diagnostics: readonly Diagnostic[];
  /** Filesystem vertex id → a cache record exists for its key now (FROM: the base is in the store). */
  readonly cached: ReadonlyMap<string, boolean>;
}

export async function planCacheState(o: PlanCacheOptions): Promise<PlanCacheResult> {
  const store = await openApiStore(o.root);
  const platform = o.platform ? runnablePlatform(o.platform) : hostPlatform();
  const file = new SourceFile(o.dockerfileName, o.text);
  const parsed = parseDockerfile(file);
  if (!parsed.ast) return { diagnostics: parsed.diagnostics, cached: new Map() };
  // As a build plans, with the base images' Env from the store (nothing is pulled here).
  const images: BaseImageResolver = { config: (ref) => loadImage(store, ref, platform).then((img) => img.config.config ?? {}, () => undefined) };
  const opts = { buildArgs: o.buildArgs, target: o.target, targetPlatform: platform, buildPlatform: hostPlatform(), checkReference: checkBaseReference };
  const { plan, diagnostics } = await planDockerfileAsync(parsed.ast, opts, images, parsed.diagnostics);
  if (!plan || diagnostics.some((d) => d.severity === 'error')) return { diagnostics, cached: new Map() };

  const opened = await openContext({ contextDir: o.contextDir, dockerfile: o.dockerfilePath, storeRoot: o.root, hasher: loadXxh64 });
  if (!opened.ok) throw new UserError(opened.error.code, opened.error.message);
  const context = opened.value;
  const lease = await store.lease();
  try {
    const real = buildOps({
      store,
      blobs: lease.blobs,
      protect: async () => {},
      snapshots: openSnapshots(o.root, lease.blobs),
      executor: createLazyOciExecutor({ stateDir: () => Promise.reject(new Error('plan --cache runs nothing')) }),
      context,
      platform,
      compression: 'none',
      incrementalCopy: false,
      network: 'default',
    });
    const ops: VertexOps<Awaited<ReturnType<typeof real.from>>> = {
      ...real,
      // The state a run would leave, minus its layer: the key is all the next step needs.
      async execute(v, state, key) {
        const layer = { descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: key, size: 0 }, diffId: key as Sha256 };
        const record = { key, layer: layer.descriptor, diffId: layer.diffId, created: new Date(0).toISOString() } as unknown as CacheRecord;
        return { state: await real.reuse(v, state, record), layer };
      },
    };
    const records = openCache(o.root, store);
    const cached = new Map<string, boolean>();
    await solve(plan, ops, {
      cache: { ...records, put: async () => {} },
      emit: (e) => {
        if (e.type === 'step-cached') cached.set(e.step.id, true);
        else if (e.type === 'step-started') cached.set(e.step.id, false);
      },
    });
    return { plan, diagnostics, cached };
  } finally {
    await context.close().catch(() => {});
    await lease.release();
  }
}
