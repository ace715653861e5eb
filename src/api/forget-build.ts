/**
 * `forgetBuild(root, …)`: makes the next build of a context start cold while keeping its base
 * images, so it costs what a first build on a machine that already pulled the bases costs
 * (`wharf bench --mode cold` measures that):
 * - the cache records of the given steps go (each step misses and runs);
 * - so do the snapshots of the layers those steps made: otherwise a re-run finds its own output
 *   already unpacked under its chain ID and throws the fresh upper dir away instead of moving it
 *   into place, which is not what a first build does;
 * - and the context's stat cache, so every file a COPY uses is read and hashed again.
 * Base image snapshots stay (their layers come from the image, not from a cache record). Layer
 * blobs stay too: a tagged image may use them, and writing a layer costs the same either way.
 * `noCache` is not equivalent: it keeps the stat cache and the step snapshots.
 */
import { resolve } from 'node:path';
import { FsBlobStore } from '../store/index.js';
import { openCache } from '../cache/index.js';
import { openSnapshots } from '../snapshot/index.js';
import type { Sha256 } from '../hash/index.js';

export interface ForgetBuildOptions {
  /** The steps' cache keys: BuildResult.steps[].cacheKey (or the metadata file's). */
  readonly cacheKeys: readonly string[];
  /** The context directory whose stat cache goes. */
  readonly contextDir: string;
}

/** Returns how many cache records were forgotten. */
export async function forgetBuild(root: string, o: ForgetBuildOptions): Promise<number> {
  // Loaded here: the ops module brings the build planner with it, which the library's index must not load for every caller.
  const [{ forgetLineages }, { StatCache }] = await Promise.all([import('../ops/index.js'), import('../context/index.js')]);
  const blobs = new FsBlobStore(root);
  const removed = await openCache(root, blobs).forget(o.cacheKeys.map((k) => k as Sha256));
  const layers = new Set(removed.map((r) => r.layer.digest));
  await openSnapshots(root, blobs).removeLayers(layers);
  // Else the next run's COPY would start from the previous one's files (incremental COPY).
  await forgetLineages(root, layers);
  await StatCache.forget(root, resolve(o.contextDir));
  return removed.length;
}
