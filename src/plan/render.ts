/** Text, JSON and Graphviz renderings of a plan (what `wharf plan` prints). */
import { vertexOp } from './op.js';
import type { Plan, PlanStage, StageBase } from './types.js';

const baseText = (b: StageBase, plan: Plan): string =>
  b.kind === 'image' ? `image ${b.ref}` : b.kind === 'scratch' ? 'scratch' : `stage ${stageName(plan, b.stage)}`;

const stageName = (plan: Plan, i: number): string => {
  const n = plan.allStageNames[i];
  return n === undefined ? String(i) : `${i} (${n})`;
};

/** The last vertex of a stage: what another stage reads when it uses this one. */
const lastVertex = (s: PlanStage): string => s.vertices[s.vertices.length - 1]!.id;

export function renderPlanText(plan: Plan): string {
  const out: string[] = [];
  for (const s of plan.stages) {
    out.push(`stage ${stageName(plan, s.index)} from ${baseText(s.base, plan)}${s.platform ? ` platform ${s.platform}` : ''}${s.index === plan.target ? ' [target]' : ''}`);
    for (const v of s.vertices) {
      const notes: string[] = [];
      if (v.kind !== 'from') notes.push(v.filesystem ? `parent ${v.fsParent}` : 'config only');
      for (const e of v.edges) notes.push(`${e.via} stage ${stageName(plan, e.stage)}`);
      out.push(`  ${v.id.padEnd(7)} ${v.label}${notes.length ? `   (${notes.join('; ')})` : ''}`);
    }
  }
  return out.join('\n') + '\n';
}

export function renderPlanJson(plan: Plan): string {
  return (
    JSON.stringify(
      {
        target: plan.target,
        stages: plan.stages.map((s) => ({
          index: s.index,
          name: s.name ?? null,
          base: s.base,
          platform: s.platform ?? null,
          dependsOn: s.dependsOn,
          images: s.images,
          vertices: s.vertices.map((v) => ({
            id: v.id,
            kind: v.kind,
            filesystem: v.filesystem,
            label: v.label,
            prev: v.prev ?? null,
            fsParent: v.fsParent ?? null,
            edges: v.edges.map((e) => ({ stage: e.stage, via: e.via })),
            context: v.context,
            op: vertexOp(v),
            ...(v.kind === 'run' && v.runEnv ? { env: Object.fromEntries(v.runEnv.vars) } : {}),
          })),
        })),
      },
      null,
      2,
    ) + '\n'
  );
}

const dotString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;

/**
 * `cached`: with `plan --cache`, whether each filesystem vertex has a cache record now; those
 * nodes are filled green (cached) or orange (would run), with a legend.
 */
export function renderPlanDot(plan: Plan, cached?: ReadonlyMap<string, boolean>): string {
  const out = ['digraph plan {', '  rankdir=TB;', '  node [shape=box, fontname="monospace", fontsize=10];'];
  const fill = (id: string): string => {
    const c = cached?.get(id);
    return c === undefined ? '' : c ? ', style=filled, fillcolor="#c8e6c9", color="#2e7d32", class="cached"' : ', style=filled, fillcolor="#ffe0b2", color="#e65100", class="missing"';
  };
  if (cached) {
    out.push('  subgraph cluster_legend {', '    label="cache now";', '    "legend:cached" [label="cached", style=filled, fillcolor="#c8e6c9", color="#2e7d32"];');
    out.push('    "legend:missing" [label="no cache record (would run)", style=filled, fillcolor="#ffe0b2", color="#e65100"];', '  }');
  }
  const byIndex = new Map(plan.stages.map((s) => [s.index, s]));
  for (const s of plan.stages) {
    out.push(`  subgraph cluster_s${s.index} {`);
    out.push(`    label=${dotString(`stage ${stageName(plan, s.index)}${s.index === plan.target ? ' [target]' : ''}`)};`);
    for (const v of s.vertices) {
      const label = v.label.length > 60 ? v.label.slice(0, 57) + '...' : v.label;
      out.push(`    ${dotString(v.id)} [label=${dotString(label)}${v.filesystem ? fill(v.id) : ', style=dashed'}];`);
    }
    out.push('  }');
    // Images a stage starts from or copies out of, as ellipses feeding the vertex that reads them.
    const image = (ref: string, to: string, label?: string): void => {
      out.push(`  ${dotString(`image:${ref}`)} [shape=ellipse, label=${dotString(ref)}];`);
      out.push(`  ${dotString(`image:${ref}`)} -> ${dotString(to)}${label ? ` [label=${dotString(label)}]` : ''};`);
    };
    if (s.base.kind === 'image') image(s.base.ref, s.vertices[0]!.id);
    for (const v of s.vertices) {
      const op = v.instruction;
      if (op.kind === 'COPY' && op.from && s.images.includes(op.from.value)) image(op.from.value, v.id, 'copy-from');
      if (op.kind === 'RUN') for (const m of op.mounts) if (m.from !== undefined && s.images.includes(m.from)) image(m.from, v.id, 'mount-from');
      if (v.prev) out.push(`  ${dotString(v.prev)} -> ${dotString(v.id)};`);
      for (const e of v.edges) {
        const src = byIndex.get(e.stage);
        if (src) out.push(`  ${dotString(lastVertex(src))} -> ${dotString(v.id)} [style=bold, color=blue, label=${dotString(e.via)}];`);
      }
    }
  }
  out.push('}');
  return out.join('\n') + '\n';
}
