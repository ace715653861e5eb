import type { HistoryEntry } from './types.js';
import { rfc3339, type ImageDraft } from './build.js';

/**
 * Image and history times as BuildKit's exporter settles them (normalizeLayersAndHistory and
 * patchImageConfig), so a rebuild whose steps all come from the cache gives the same config
 * digest: a layer step's entry carries the time its cached result was first made, a metadata step
 * (ENV, CMD, …) carries none until here, and the image's `created` is the latest entry's time.
 */

/** Used only when no entry has a time at all (FROM scratch with metadata only): fixed, not "now". */
const NO_TIME = '1970-01-01T00:00:00Z';

export interface SettledTimes {
  readonly draft: ImageDraft;
  /** The config's `created`. */
  readonly created: string;
}

/**
 * Fills the entries without a time: those before the build's first new layer get that layer's
 * time, later ones the time of the layer before them. With `sourceDateEpoch` (seconds) every time
 * after it is clamped to it and the image's `created` is exactly that instant.
 */
export function settleTimes(draft: ImageDraft, sourceDateEpoch?: number): SettledTimes {
  const history = draft.config.history ?? [];
  // The first time after the first entry without one; else the last time seen.
  let fill: string | undefined;
  let gap = false;
  for (const h of history) {
    if (h.created !== undefined) {
      fill = h.created;
      if (gap) break;
    } else gap = true;
  }
  gap = false;
  const filled: HistoryEntry[] = history.map((h) => {
    if (h.created !== undefined) {
      if (gap) fill = h.created;
      return h;
    }
    gap = true;
    return fill !== undefined ? { ...h, created: fill } : h;
  });
  const epoch = sourceDateEpoch !== undefined ? rfc3339(new Date(sourceDateEpoch * 1000)) : undefined;
  const clamped = epoch === undefined ? filled : filled.map((h) => (h.created === undefined || Date.parse(h.created) > Date.parse(epoch) ? { ...h, created: epoch } : h));
  const last = [...clamped].reverse().find((h) => h.created !== undefined)?.created;
  return { draft: { ...draft, config: { ...draft.config, history: clamped } }, created: epoch ?? last ?? NO_TIME };
}
