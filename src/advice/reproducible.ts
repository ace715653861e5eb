import type { Advice } from '../progress/index.js';

/** One step run twice with the same cache key (rebuilt with --no-cache-filter), and the layers it made. */
export interface Rerun {
  readonly stage: number;
  readonly index: number;
  /** `#N` as progress output numbers it. */
  readonly number: number;
  readonly instruction: string;
  readonly line?: number;
  readonly diffIds: readonly [string, string];
}

const short = (d: string) => (d.startsWith('sha256:') ? d.slice(7, 19) : d);

/**
 * A step whose layer differs between two executions with the same key: its output does not
 * follow from its inputs (a date, random data, an unpinned download), so every --no-cache build
 * and every runner gives another image. Only the first such step of a stage is named: the steps
 * after it may differ only because their parent did.
 */
export function nonReproducible(reruns: readonly Rerun[]): Advice[] {
  const out: Advice[] = [];
  const stages = [...new Set(reruns.map((r) => r.stage))];
  for (const stage of stages) {
    const differing = reruns.filter((r) => r.stage === stage && r.diffIds[0] !== r.diffIds[1]).sort((a, b) => a.index - b.index);
    const first = differing[0];
    if (!first) continue;
    const later = differing.length - 1;
    const at = first.line !== undefined ? ` (line ${first.line})` : '';
    const text =
      `#${first.number} ${first.instruction}${at} made a different layer each time it ran with the same inputs (${short(first.diffIds[0])} vs ${short(first.diffIds[1])})` +
      `${later ? `, and ${later} later step${later === 1 ? '' : 's'} of its stage differ after it` : ''}; make it write the same bytes every time ` +
      `(no dates or random data in files, pinned versions, SOURCE_DATE_EPOCH for timestamps), so rebuilds and other runners give the same image`;
    out.push({ rule: 'non-reproducible', lines: first.line !== undefined ? [first.line] : [], text, step: first.number });
  }
  return out;
}
