import type { Advice, BuildEvent } from './events.js';
import { layerId, pushStatus } from './pull.js';

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** What BuildKit's exporter step says: the image ID, then each name it was given. */
export function resultLines(e: Extract<BuildEvent, { type: 'build-done' }>): string[] {
  return [`writing image ${e.imageId}`, ...(e.names ?? []).map((n) => `naming to ${n}`)];
}

/** The summary line every human-readable renderer ends with. */
export function summaryLine(e: Extract<BuildEvent, { type: 'build-done' }>): string {
  const fetched = e.cacheFetched ? `, ${e.cacheFetched.layers} cached layers (${e.cacheFetched.bytes} bytes) fetched from the cache source` : '';
  return `built ${e.name ?? e.imageId.slice(0, 19)} in ${seconds(e.durationMs)}, ${e.cached}/${e.steps} cached${fetched}`;
}

/** The line a renderer prints for a cache import/export event (undefined: not a cache event). */
export function cacheLine(e: BuildEvent): string | undefined {
  switch (e.type) {
    case 'cache-warning':
      return `warning: ${e.message}`;
    case 'cache-imported':
      return `cache: ${e.records} records from ${e.source}${e.mounts !== undefined ? `, ${e.mounts} cache mounts restored` : ''}`;
    case 'cache-fetched':
      return `cache: fetched layer ${e.digest.slice(7, 19)} (${e.bytes} bytes) from ${e.source}`;
    case 'cache-exported':
      return `cache: exported ${e.records} records${e.mounts !== undefined ? ` and ${e.mounts} cache mounts` : ''} to ${e.dest} (${e.layersWritten} layers, ${e.bytesWritten} bytes written${e.layersMounted ? `, ${e.layersMounted} mounted from the source repository` : ''})`;
    default:
      return undefined;
  }
}

/** Advice as people read it: one item per line, its Dockerfile lines first (bench prints the same). */
export function adviceLines(advice: readonly Advice[]): string[] {
  if (!advice.length) return ['advice: none (nothing in the cache misses of this build points at the Dockerfile)'];
  return advice.map((a) => `advice: line${a.lines.length === 1 ? '' : 's'} ${a.lines.join(', ')}: ${a.text}`);
}

/**
 * The lines a build's push prints, as `docker push` does (undefined: not a push event, or a layer
 * still under way: logs get one line per layer once it is settled).
 */
export function pushLine(e: BuildEvent): string | undefined {
  switch (e.type) {
    case 'push-started':
      return `The push refers to repository [${e.name.replace(/:[^:/]+$/, '')}]`;
    case 'push':
      return e.state === 'pushed' || e.state === 'exists' || e.state === 'mounted' ? `${layerId(e.digest)}: ${pushStatus(e)}` : undefined;
    case 'pushed':
      return `${e.name.slice(e.name.lastIndexOf(':') + 1)}: digest: ${e.digest} size: ${e.size}\npushed ${e.name}@${e.digest}`;
    case 'push-not-stored':
      return `not stored here: layers of ${e.names.join(', ')} hit the cache and stay in the registry; \`wharf pull\` fetches it`;
    default:
      return undefined;
  }
}
