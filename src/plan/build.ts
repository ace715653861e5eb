import { editDistance, error, warning, type Diagnostic, type Range } from '../diag/index.js';
import { mountTarget, type Mount, type ResolvedDockerfile, type Stage, type Step, type TypedInstruction } from '../instructions/index.js';
import { posix } from 'node:path';
import type { ExecContext, Plan, PlanStage, StageBase, StageEdge, Vertex } from './types.js';

export interface PlanOptions {
  /** `--target`: a stage name (case-insensitive); default the last stage. */
  readonly target?: string;
}

type Ref = { kind: 'stage'; stage: number } | { kind: 'image'; ref: string } | { kind: 'error' };

export function buildPlan(resolved: ResolvedDockerfile, opts: PlanOptions = {}): { plan?: Plan; diagnostics: Diagnostic[] } {
  const file = resolved.file;
  const diags: Diagnostic[] = [];
  const stages = resolved.stages;
  const byName = new Map<string, number>();
  for (const s of stages) {
    if (s.name === undefined) continue;
    const first = byName.get(s.name);
    if (first !== undefined) {
      diags.push(
        error('plan.duplicate-stage', `duplicate stage name "${s.name}"`, file, s.from.stageName?.range ?? s.from.node.range, `stage ${first} already has this name; rename one of them`),
      );
    } else byName.set(s.name, s.index);
  }

  /** Resolves a stage reference made from stage `at`: a name, an index, or else an image. */
  const resolveRef = (text: string, at: number, range: Range, what: string, allowIndex: boolean): Ref => {
    const byIndex = allowIndex && /^\d+$/.test(text) ? Number(text) : undefined;
    const target = byIndex ?? byName.get(text.toLowerCase());
    if (target === undefined) return { kind: 'image', ref: text };
    if (byIndex !== undefined && byIndex >= stages.length) {
      diags.push(error('plan.unknown-stage', `${what} refers to stage ${byIndex}, but the Dockerfile has only ${stages.length} stage(s)`, file, range, stageList(stages)));
      return { kind: 'error' };
    }
    if (target === at) {
      diags.push(error('plan.cycle', `circular dependency detected on stage: ${stageLabel(stages[at]!)} refers to itself`, file, range));
      return { kind: 'error' };
    }
    if (target > at) {
      diags.push(
        error('plan.forward-reference', `${what}: stage "${text}" needs to be defined before current stage`, file, range, 'a stage can only use stages defined above it; move it up'),
      );
      return { kind: 'error' };
    }
    return { kind: 'stage', stage: target };
  };

  const finalContext: ExecContext[] = [];
  const planStages: PlanStage[] = stages.map((s) => {
    const fromRange = s.from.image.range;
    let base: StageBase;
    const edges0: StageEdge[] = [];
    if (s.base.toLowerCase() === 'scratch') base = { kind: 'scratch' };
    else {
      const r = resolveRef(s.base, s.index, fromRange, 'FROM', false);
      if (r.kind === 'stage') {
        base = { kind: 'stage', stage: r.stage };
        edges0.push({ stage: r.stage, via: 'from', range: fromRange });
      } else base = { kind: 'image', ref: s.base };
    }
    const images = new Set<string>();
    const vertices: Vertex[] = [];
    // A stage built FROM an earlier stage starts from that stage's final USER/WORKDIR/SHELL.
    let context: ExecContext = base.kind === 'stage' ? (finalContext[base.stage] ?? {}) : base.kind === 'scratch' ? { workdir: '/' } : {};
    const fromVertex: Vertex = {
      id: `s${s.index}v0`,
      stage: s.index,
      kind: 'from',
      filesystem: true,
      instruction: s.from,
      edges: edges0,
      context,
      label: `FROM ${s.base}${s.platform ? ` (${s.platform})` : ''}${s.name ? ` AS ${s.name}` : ''}`,
    };
    vertices.push(fromVertex);
    let prev = fromVertex.id;
    let fsParent = fromVertex.id;
    s.steps.forEach((step, i) => {
      const edges: StageEdge[] = [];
      for (const [text, range, via, allowIndex] of stageRefs(step)) {
        const r = resolveRef(text, s.index, range, via === 'copy-from' ? '--from' : 'mount from', allowIndex);
        if (r.kind === 'stage') edges.push({ stage: r.stage, via, range });
        else if (r.kind === 'image') images.add(r.ref);
      }
      const ins = step.instruction;
      if (ins.kind === 'WORKDIR' && !ins.value.value.startsWith('/') && context.workdir === undefined)
        diags.push(
          warning('lint.workdir-relative-path', `Relative workdir "${ins.value.value}" can have unexpected results if the base image changes`, file, ins.value.range, 'use an absolute path'),
        );
      context = nextContext(context, ins);
      if (ins.kind === 'RUN') diags.push(...rootMountTargets(ins.mounts, context.workdir, file));
      const v = stepVertex(step, {
        id: `s${s.index}v${i + 1}`,
        stage: s.index,
        prev,
        fsParent,
        edges,
        context,
        label: (step.trigger ? '[onbuild] ' : '') + describe(step.instruction),
      });
      vertices.push(v);
      prev = v.id;
      if (v.filesystem) fsParent = v.id;
    });
    finalContext[s.index] = context;
    const dependsOn = [...new Set(vertices.flatMap((v) => v.edges.map((e) => e.stage)))].sort((a, b) => a - b);
    return { index: s.index, name: s.name, base, platform: s.platform, vertices, dependsOn, images: [...images] };
  });

  const cycle = findCycle(planStages);
  if (cycle) diags.push(error('plan.cycle', `circular dependency detected between stages ${cycle.join(' → ')}`, file, stages[cycle[0]!]!.from.node.range));

  let target = stages.length - 1;
  if (opts.target !== undefined) {
    const t = byName.get(opts.target.toLowerCase());
    if (t === undefined) {
      const near = stages.map((s) => s.name).find((n) => n !== undefined && editDistance(n, opts.target!.toLowerCase()) <= 2);
      diags.push(error('plan.unknown-target', `target stage "${opts.target}" could not be found`, file, undefined, `${near ? `did you mean ${near}? ` : ''}${stageList(stages)}`));
      return { diagnostics: diags };
    }
    target = t;
  }
  if (diags.some((d) => d.severity === 'error') || target < 0) return { diagnostics: diags };

  const needed = new Set<number>();
  const visit = (i: number): void => {
    if (needed.has(i)) return;
    needed.add(i);
    for (const d of planStages[i]!.dependsOn) visit(d);
  };
  visit(target);
  return {
    plan: { stages: planStages.filter((s) => needed.has(s.index)), target, allStageNames: stages.map((s) => s.name) },
    diagnostics: diags,
  };
}

/** The context after an instruction: WORKDIR's own vertex already runs in its new directory. */
function nextContext(c: ExecContext, i: TypedInstruction): ExecContext {
  switch (i.kind) {
    case 'USER':
      return { ...c, user: i.value.value };
    case 'SHELL':
      return { ...c, shell: i.shell };
    case 'WORKDIR': {
      const dir = i.value.value;
      if (dir.startsWith('/')) return { ...c, workdir: posix.normalize(dir) };
      return { ...c, workdir: c.workdir === undefined ? posix.normalize(dir) : posix.join(c.workdir, dir) };
    }
    default:
      return c;
  }
}

/**
 * A mount whose target comes out as `/` (BuildKit: "invalid mount target"), found here when the
 * WORKDIR is known from the Dockerfile; one relative to the base image's WorkingDir is checked
 * when the step runs.
 */
function rootMountTargets(mounts: readonly Mount[], workdir: string | undefined, file: ResolvedDockerfile['file']): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const m of mounts) {
    const known = m.target?.startsWith('/') || workdir?.startsWith('/');
    if (!known || mountTarget(m.target, workdir ?? '/') !== '/') continue;
    out.push(error('plan.mount-target-root', `invalid mount target "/"${m.target ? '' : ` (no target, and the WORKDIR is ${workdir})`}`, file, m.range,
      'give the mount a target=<dir> other than /; an empty or relative target is taken from the WORKDIR'));
  }
  return out;
}

function stageLabel(s: Stage): string {
  return s.name ? `"${s.name}"` : `${s.index}`;
}

function stageList(stages: readonly Stage[]): string {
  const names = stages.map((s) => s.name).filter((n): n is string => n !== undefined);
  return names.length ? `stages in this Dockerfile: ${names.join(', ')}` : 'no stage in this Dockerfile has a name (use FROM <image> AS <name>)';
}

type VertexFields = Omit<Vertex, 'kind' | 'filesystem' | 'instruction' | 'runEnv'> & { readonly fsParent: string };

/** A step's vertex, by instruction kind; only filesystem steps name `fsParent`. */
function stepVertex(step: Step, base: VertexFields): Vertex {
  const i = step.instruction;
  switch (i.kind) {
    case 'RUN':
      return { ...base, kind: 'run', filesystem: true, instruction: i, runEnv: step.runEnv };
    case 'COPY':
      return { ...base, kind: 'copy', filesystem: true, instruction: i };
    case 'ADD':
      return { ...base, kind: 'add', filesystem: true, instruction: i };
    case 'FROM':
      return { ...base, kind: 'from', filesystem: true, instruction: i };
    // TextInstruction covers four kinds; the copy gives the instruction its narrowed kind.
    case 'WORKDIR':
      return { ...base, kind: 'workdir', filesystem: true, instruction: { ...i, kind: i.kind } };
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      return { ...base, kind: 'meta', filesystem: false, instruction: { ...i, kind: i.kind }, fsParent: undefined };
    default:
      return { ...base, kind: 'meta', filesystem: false, instruction: i, fsParent: undefined };
  }
}

function stageRefs(step: Step): [string, Range, 'copy-from' | 'mount-from', boolean][] {
  const i = step.instruction;
  if (i.kind === 'COPY' && i.from) return [[i.from.value, i.from.range, 'copy-from', true]];
  if (i.kind === 'RUN') return i.mounts.filter((m) => m.from !== undefined).map((m) => [m.from!, m.range, 'mount-from', true]);
  return [];
}

/** The instruction after expansion, on one line. */
function describe(i: TypedInstruction): string {
  const flag = (name: string, w: { value: string } | undefined): string => (w ? ` --${name}=${w.value}` : '');
  switch (i.kind) {
    case 'RUN': {
      const cmd = i.command.form === 'exec' ? JSON.stringify(i.command.args.map((a) => a.value)) : i.command.text.value;
      const mounts = i.mounts.map((m) => ` --mount=type=${m.type}${m.from ? `,from=${m.from}` : ''}${m.target ? `,target=${m.target}` : ''}`).join('');
      const net = i.network !== 'default' ? ` --network=${i.network}` : '';
      const sec = i.security !== 'sandbox' ? ` --security=${i.security}` : '';
      return `RUN${mounts}${net}${sec} ${cmd}`;
    }
    case 'COPY':
    case 'ADD': {
      const srcs = [...i.sources.map((s) => s.value), ...i.contents.map((c) => `<<${c.name}`)];
      return `${i.kind}${flag('from', i.from)}${flag('chown', i.chown)}${flag('chmod', i.chmod)}${i.link ? ' --link' : ''} ${srcs.join(' ')} ${i.dest.value}`;
    }
    case 'ENV':
    case 'LABEL':
      return `${i.kind} ${i.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`;
    case 'ARG':
      return `ARG ${i.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`)).join(' ')}`;
    case 'CMD':
    case 'ENTRYPOINT':
      return `${i.kind} ${i.command.form === 'exec' ? JSON.stringify(i.command.args.map((a) => a.value)) : i.command.text.value}`;
    case 'SHELL':
      return `SHELL ${JSON.stringify(i.shell)}`;
    case 'EXPOSE':
    case 'VOLUME':
      return `${i.kind} ${i.items.map((w) => w.value).join(' ')}`;
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      return `${i.kind} ${i.value.value}`;
    case 'HEALTHCHECK':
      return i.command ? `HEALTHCHECK CMD ${i.command.form === 'exec' ? JSON.stringify(i.command.args.map((a) => a.value)) : i.command.text.value}` : 'HEALTHCHECK NONE';
    case 'ONBUILD':
      return `ONBUILD ${i.trigger}`;
    case 'FROM':
      return `FROM ${i.image.value}`;
  }
}

/** Stage references only point backwards once checked, but a DFS keeps that a checked fact. */
function findCycle(stages: readonly PlanStage[]): number[] | undefined {
  const state = new Map<number, 1 | 2>();
  const stack: number[] = [];
  const dfs = (i: number): number[] | undefined => {
    state.set(i, 1);
    stack.push(i);
    for (const d of stages[i]?.dependsOn ?? []) {
      if (state.get(d) === 1) return [...stack.slice(stack.indexOf(d)), d];
      if (!state.has(d)) {
        const c = dfs(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(i, 2);
    return undefined;
  };
  for (const s of stages) if (!state.has(s.index)) {
    const c = dfs(s.index);
    if (c) return c;
  }
  return undefined;
}
