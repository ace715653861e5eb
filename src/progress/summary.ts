import type { BuildEvent } from './events.js';

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** The summary line every human-readable renderer ends with. */
export function summaryLine(e: Extract<BuildEvent, { type: 'build-done' }>): string {
  return `built ${e.name ?? e.imageId.slice(0, 19)} in ${seconds(e.durationMs)}, ${e.cached}/${e.steps} cached`;
}
