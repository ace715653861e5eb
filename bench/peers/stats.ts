/**
 * Summary statistics for timed runs. Medians rather than means: one run disturbed by the other
 * work sharing the machine should not move the figure.
 */
export interface Summary {
  readonly runs: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(runs: readonly number[]): Summary {
  return { runs: [...runs], median: median(runs), min: Math.min(...runs), max: Math.max(...runs) };
}

/**
 * wharf against one peer: the ratio of medians, and the median of the per-round ratios (runs of
 * the same round are neighbours in time, so pairing them cancels slow drifts in machine load).
 * Rounds where either side has no run are left out of the paired figure.
 */
export interface Ratio {
  readonly ofMedians: number;
  readonly paired: number | null;
}

export function ratio(wharf: readonly number[], peer: readonly number[]): Ratio {
  const pairs: number[] = [];
  for (let i = 0; i < Math.min(wharf.length, peer.length); i++) if (peer[i]! > 0) pairs.push(wharf[i]! / peer[i]!);
  return { ofMedians: median(wharf) / median(peer), paired: pairs.length ? median(pairs) : null };
}
