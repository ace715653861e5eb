/**
 * Results of a peer benchmark and their markdown table. Pure: the runner fills a `PeerResults`
 * and these functions only read it.
 */
import type { Floor } from './floor.js';
import { median, ratio, summarize, type Ratio, type Summary } from './stats.js';

export const modes = ['cold', 'noop', 'change'] as const;
export type Mode = (typeof modes)[number];

export interface Cell {
  readonly scenario: string;
  readonly mode: Mode;
  readonly builder: string;
  /** Wall times in ms, in round order (round i of every builder ran side by side in time). */
  readonly runs: readonly number[];
  /** Why there are no runs (builder unavailable, a build failed, mode not applicable). */
  readonly error?: string;
}

export interface PeerResults {
  readonly date: string;
  readonly machine: Record<string, string | number>;
  readonly config: Record<string, unknown>;
  readonly builders: readonly string[];
  readonly cells: readonly Cell[];
  /** Per counted round of `wide` cold: the RUN commands run bare (floor.ts). */
  readonly floors?: { readonly wide: readonly Floor[] };
}

export interface CellSummary extends Cell {
  readonly summary: Summary | null;
  /** wharf (or wharf-serve) against each peer, keyed by the peer's name; only on those cells. */
  readonly ratios: Record<string, Ratio>;
}

export const WHARF = 'wharf';
/** wharf's own columns (the CLI, and the docker CLI through `wharf serve`): each is compared with every peer. */
export const OURS: readonly string[] = [WHARF, 'wharf-serve'];

export function summarizeCells(r: PeerResults): CellSummary[] {
  const find = (c: Cell, builder: string) => r.cells.find((x) => x.scenario === c.scenario && x.mode === c.mode && x.builder === builder);
  return r.cells.map((c) => {
    const ratios: Record<string, Ratio> = {};
    if (OURS.includes(c.builder) && c.runs.length) {
      for (const peer of r.builders) {
        const p = OURS.includes(peer) ? undefined : find(c, peer);
        if (p?.runs.length) ratios[peer] = ratio(c.runs, p.runs);
      }
    }
    return { ...c, summary: c.runs.length ? summarize(c.runs) : null, ratios };
  });
}

export function formatSeconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(2) : (ms / 1000).toFixed(1);
}

function cellText(c: CellSummary | undefined): string {
  if (!c) return '–';
  if (!c.summary) return c.error ? `n/a (${c.error.replace(/\|/g, '/').split('\n')[0]!.slice(0, 60)})` : 'n/a';
  const s = c.summary;
  return `${formatSeconds(s.median)} (${formatSeconds(s.min)}–${formatSeconds(s.max)})`;
}

/**
 * One row per scenario × mode: each builder's median seconds with min–max, then wharf/peer and
 * wharf-serve/peer (ratio of medians) for every peer that has runs.
 */
export function renderMarkdown(r: PeerResults): string {
  const cells = summarizeCells(r);
  const peers = r.builders.filter((b) => !OURS.includes(b));
  const ours = r.builders.filter((b) => OURS.includes(b));
  const pairs = ours.flatMap((o) => peers.map((p) => [o, p] as const));
  const head = ['scenario', 'mode', ...r.builders.map((b) => `${b} s`), ...pairs.map(([o, p]) => `${o}/${p}`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  const rows: [string, Mode][] = [];
  for (const c of r.cells) if (!rows.some(([s, m]) => s === c.scenario && m === c.mode)) rows.push([c.scenario, c.mode]);
  for (const [scenario, mode] of rows) {
    const at = (b: string) => cells.find((c) => c.scenario === scenario && c.mode === mode && c.builder === b);
    const ratioCells = pairs.map(([o, p]) => {
      const w = at(o);
      return w?.ratios[p] ? `${w.ratios[p]!.ofMedians.toFixed(2)}×` : '–';
    });
    lines.push(`| ${[scenario, mode, ...r.builders.map((b) => cellText(at(b))), ...ratioCells].join(' | ')} |`);
  }
  return lines.join('\n') + '\n' + floorText(r, cells);
}

/** `wide` cold against its floor: each builder's median over the floor's median. */
function floorText(r: PeerResults, cells: readonly CellSummary[]): string {
  const fs = r.floors?.wide;
  if (!fs?.length) return '';
  const m = (pick: (f: Floor) => number) => median(fs.map(pick));
  const floor = m((f) => f.floorS);
  const vs = cells
    .filter((c) => c.scenario === 'wide' && c.mode === 'cold' && c.summary)
    .map((c) => `${c.builder} ${(c.summary!.median / 1000 / floor).toFixed(2)}×`);
  return `\n\`wide\` cold floor (its RUN commands run bare in a chroot, median of ${fs.length}): ${floor.toFixed(2)} s = ` +
    `max(Σ CPU ${m((f) => f.cpuS).toFixed(2)} s / ${fs[0]!.cores} cores, longest stage ${m((f) => f.longestStageS).toFixed(2)} s); ` +
    `the stages run bare ${fs[0]!.cores} at a time took ${m((f) => f.bareParallelS).toFixed(2)} s. Against the floor: ${vs.join(', ')}.\n`;
}
