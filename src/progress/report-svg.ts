/**
 * The two pictures of the HTML report, drawn as SVG text here (no layout engine, no script needed
 * to see them): the cache graph (a column per stage, a box per step, edges for the stages a step
 * reads) and the timeline (a lane per stage, a bar per step, the critical path outlined).
 */
import type { GraphStage, GraphStep } from './events.js';
import type { BuildRecord, ReportStep, StepOutcome } from './report-data.js';

export const OUTCOME_STYLE: Readonly<Record<StepOutcome, { fill: string; stroke: string; label: string }>> = {
  cached: { fill: '#c8e6c9', stroke: '#2e7d32', label: 'cached' },
  executed: { fill: '#ffe0b2', stroke: '#e65100', label: 'executed' },
  failed: { fill: '#ffcdd2', stroke: '#c62828', label: 'failed' },
  cancelled: { fill: '#e0e0e0', stroke: '#757575', label: 'cancelled' },
  'not-run': { fill: '#fafafa', stroke: '#bdbdbd', label: 'not run' },
};

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export const ms = (n: number): string => (n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`);

const clip = (s: string, n: number): string => (s.length > n ? s.slice(0, n - 1) + '…' : s);

/** Hover text of a step: what it is, how it went, why it missed. */
export function stepTitle(step: GraphStep, r: ReportStep): string {
  const lines = [`#${step.number} ${step.instruction}${step.line !== undefined ? `  (line ${step.line})` : ''}`];
  const took = r.start !== undefined && r.end !== undefined ? ` in ${ms(r.end - r.start)}` : '';
  lines.push(`${OUTCOME_STYLE[r.outcome].label}${took}`);
  if (r.miss) lines.push(`cache miss (${r.miss.kind}): ${r.miss.text}`);
  if (r.error) lines.push(`error: ${r.error}`);
  return lines.join('\n');
}

/**
 * Each step's predecessors: the step before it in its stage and the last step of each stage it
 * reads; a stage's first step also waits for every stage the stage reads (it is scheduled once
 * they are all done).
 */
function predecessors(graph: readonly GraphStage[]): Map<string, string[]> {
  const lastOf = new Map(graph.map((s) => [s.index, s.steps[s.steps.length - 1]?.id]));
  const out = new Map<string, string[]>();
  for (const st of graph) {
    const reads = new Set(st.steps.flatMap((s) => s.reads.map((r) => r.stage)));
    st.steps.forEach((s, i) => {
      const deps = i > 0 ? [st.steps[i - 1]!.id] : [];
      for (const r of i === 0 ? [...reads] : s.reads.map((x) => x.stage)) {
        const last = lastOf.get(r);
        if (last) deps.push(last);
      }
      out.set(s.id, deps);
    });
  }
  return out;
}

/**
 * The chain of steps that decided how long the build took: from the step that ended last, back
 * through whichever predecessor ended last each time.
 */
export function criticalPath(rec: BuildRecord): Set<string> {
  const preds = predecessors(rec.graph);
  const end = (id: string) => rec.steps[id]?.end;
  let cur: string | undefined;
  for (const id of Object.keys(rec.steps)) if (end(id) !== undefined && (cur === undefined || end(id)! > end(cur)!)) cur = id;
  const path = new Set<string>();
  while (cur !== undefined && !path.has(cur)) {
    path.add(cur);
    let next: string | undefined;
    for (const p of preds.get(cur) ?? []) if (end(p) !== undefined && (next === undefined || end(p)! > end(next)!)) next = p;
    cur = next;
  }
  return path;
}

const NODE_W = 250;
const NODE_H = 44;
const COL_GAP = 110;
const ROW_GAP = 18;
const HEAD = 46;
const PAD = 16;
const STAGE_GAP = 22;

const VIA: Record<string, string> = { from: 'FROM', 'copy-from': 'COPY --from', 'mount-from': 'mount from' };

/** The cache graph of one build. Nodes carry `data-step` (the step id) and an outcome class. */
export function graphSvg(rec: BuildRecord, run: number): string {
  const pos = new Map<string, { x: number; y: number }>();
  // A column per level (a stage one further right than every stage it reads), so stages that can
  // run at once stand one above the other and every edge points right.
  const level = new Map<number, number>();
  for (const st of rec.graph) {
    const reads = st.steps.flatMap((s) => s.reads.map((r) => level.get(r.stage) ?? -1));
    level.set(st.index, 1 + Math.max(-1, ...reads));
  }
  const boxH = (st: GraphStage) => HEAD + st.steps.length * (NODE_H + ROW_GAP) - ROW_GAP + 12;
  const colY = new Map<number, number>();
  const cols = 1 + Math.max(0, ...level.values());
  const groups: string[] = [];
  const edges: string[] = [];
  for (const st of rec.graph) {
    const c = level.get(st.index)!;
    const top = colY.get(c) ?? PAD;
    colY.set(c, top + boxH(st) + STAGE_GAP);
    const x = PAD + 10 + c * (NODE_W + COL_GAP);
    st.steps.forEach((s, i) => pos.set(s.id, { x, y: top + HEAD + i * (NODE_H + ROW_GAP) }));
    groups.push(
      `<g class="stage" data-stage="${st.index}"><rect class="stage-box" x="${x - 10}" y="${top}" width="${NODE_W + 20}" height="${boxH(st)}" rx="8"/>` +
        `<text class="stage-name" x="${x}" y="${top + 18}">${esc(clip(`stage ${st.label}`, 26))}${st.target ? ' <tspan class="target">target</tspan>' : ''}</text>` +
        `<text class="stage-base" x="${x}" y="${top + 34}">${esc(clip(`from ${st.base}`, 36))}</text></g>`,
    );
  }
  const width = PAD * 2 + cols * NODE_W + (cols - 1) * COL_GAP + 20;
  const height = Math.max(...colY.values(), PAD + HEAD) - STAGE_GAP + PAD;
  const nodes: string[] = [];
  for (const st of rec.graph) {
    st.steps.forEach((s, i) => {
      const p = pos.get(s.id)!;
      const r = rec.steps[s.id] ?? { outcome: 'not-run' as const };
      const style = OUTCOME_STYLE[r.outcome];
      const took = r.start !== undefined && r.end !== undefined ? ms(r.end - r.start) : '';
      const why = r.outcome === 'executed' && r.miss ? `miss: ${r.miss.kind}` : r.outcome === 'failed' && r.exitCode !== undefined ? `exit ${r.exitCode}` : '';
      const second = [style.label, took, why].filter(Boolean).join(' · ');
      nodes.push(
        `<g class="node ${r.outcome}" data-step="${esc(s.id)}" data-run="${run}" tabindex="0"><title>${esc(stepTitle(s, r))}</title>` +
          `<rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="5" fill="${style.fill}" stroke="${style.stroke}"/>` +
          `<text class="n1" x="${p.x + 8}" y="${p.y + 18}">${esc(clip(`#${s.number} ${s.instruction}`, 33))}</text>` +
          `<text class="n2" x="${p.x + 8}" y="${p.y + 35}">${esc(clip(second, 37))}</text></g>`,
      );
      if (i > 0) {
        const q = pos.get(st.steps[i - 1]!.id)!;
        edges.push(`<line class="edge" x1="${q.x + NODE_W / 2}" y1="${q.y + NODE_H}" x2="${p.x + NODE_W / 2}" y2="${p.y - 2}" marker-end="url(#arrow)"/>`);
      }
      for (const rd of s.reads) {
        const src = rec.graph.find((g) => g.index === rd.stage);
        const from = src?.steps.length ? pos.get(src.steps[src.steps.length - 1]!.id) : undefined;
        if (!from) continue;
        const x1 = from.x + NODE_W;
        const y1 = from.y + NODE_H / 2;
        const x2 = p.x - 2;
        const y2 = p.y + NODE_H / 2;
        const bend = Math.max(40, Math.abs(x2 - x1) / 2);
        edges.push(
          `<g class="stage-edge ${rd.via}"><path d="M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}" marker-end="url(#arrow-blue)"/>` +
            `<text x="${x1 + 6}" y="${y1 - 5}">${VIA[rd.via]}</text></g>`,
        );
      }
    });
  }
  const defs =
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#777"/></marker>' +
    '<marker id="arrow-blue" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#1565c0"/></marker></defs>';
  return `<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="cache graph">${defs}${groups.join('')}${edges.join('')}${nodes.join('')}</svg>`;
}

const LABEL_W = 150;
const PLOT_W = 720;
const LANE_H = 30;

/** A "nice" tick step (1, 2 or 5 times a power of ten) for about 8 ticks over `total` ms. */
function tickStep(total: number): number {
  const raw = Math.max(total, 1) / 8;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
}

/** The timeline of one build: a lane per stage, a bar per step that ran or was looked up. */
export function timelineSvg(rec: BuildRecord, run: number, scaleMs?: number): string {
  const critical = criticalPath(rec);
  const total = Math.max(1, scaleMs ?? 0, rec.durationMs, ...Object.values(rec.steps).map((s) => s.end ?? 0));
  const x = (t: number) => Math.round((LABEL_W + (t / total) * PLOT_W) * 10) / 10;
  const lanes = rec.graph.length;
  const height = 24 + lanes * LANE_H + 26;
  const width = LABEL_W + PLOT_W + 20;
  const out: string[] = [];
  const step = tickStep(total);
  for (let t = 0; t <= total + 1e-9; t += step) {
    out.push(`<line class="tick" x1="${x(t)}" y1="18" x2="${x(t)}" y2="${24 + lanes * LANE_H}"/><text class="tick-label" x="${x(t)}" y="${height - 8}" text-anchor="middle">${ms(t)}</text>`);
  }
  rec.graph.forEach((st, lane) => {
    const y = 24 + lane * LANE_H;
    out.push(`<rect class="lane${lane % 2 ? ' odd' : ''}" x="0" y="${y}" width="${width}" height="${LANE_H}"/><text class="lane-label" x="8" y="${y + 19}">${esc(clip(st.label, 18))}</text>`);
    for (const s of st.steps) {
      const r = rec.steps[s.id];
      if (!r || r.start === undefined || r.end === undefined) continue;
      const style = OUTCOME_STYLE[r.outcome];
      const x1 = x(Math.max(0, r.start));
      const w = Math.max(3, x(r.end) - x1);
      const crit = critical.has(s.id) ? ' critical' : '';
      const label = w > 34 ? `<text class="bar-label" x="${x1 + 4}" y="${y + 19}">${esc(clip(`#${s.number} ${s.instruction}`, Math.floor((w - 6) / 6.6)))}</text>` : '';
      out.push(
        `<g class="bar ${r.outcome}${crit}" data-step="${esc(s.id)}" data-run="${run}"><title>${esc(stepTitle(s, r))}${crit ? '\n(on the critical path)' : ''}</title>` +
          `<rect x="${x1.toFixed(1)}" y="${y + 5}" width="${w.toFixed(1)}" height="${LANE_H - 10}" rx="3" fill="${style.fill}" stroke="${crit ? '#212121' : style.stroke}" stroke-width="${crit ? 2.5 : 1}"/>${label}</g>`,
      );
    }
  });
  return `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="timeline">${out.join('')}</svg>`;
}
