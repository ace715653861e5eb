import { addLayer, updateContainerConfig } from '../image/index.js';
import type { LayerVertex, PlanStage, RunVertex } from '../plan/index.js';
import type { BuildKeyFields } from '../cache/index.js';
import type { StepKeyInputs, StepLayer, VertexOps } from '../solver/index.js';
import { resolveUser } from '../runtime/index.js';
import { formatPlatform, isoTime, unreachable } from '../util/index.js';
import { explainStep, keyedEnv } from './explain.js';
import { mkdirInRoot } from './copy/copy.js';
import { copyStep, copyStepCreatedBy } from './copy/step.js';
import { fromStage, imageState } from './from.js';
import { writeThroughOverlay } from './fs-write.js';
import { applyMeta } from './meta.js';
import { runCreatedBy } from './history.js';
import { runPlan, runStep } from './run.js';
import { mountKeyMaterial, type MountFrom } from './mounts/mounts.js';
import { absolutePath, type BuildDeps, type StageState } from './state.js';

/** FROM, RUN, COPY/ADD (copy/step.ts), WORKDIR and metadata on real layers, for the solver. */
export function buildOps(deps: BuildDeps): VertexOps<StageState> {
  // A layer step's history time is when its result was first made (the cache record's), so a
  // rebuild from the cache gives the same image ID, as BuildKit does.
  const history = (created: string, createdBy: string) => ({ created, created_by: createdBy, comment: 'buildkit.dockerfile.v0' });
  // A step that changed nothing (`RUN true`, WORKDIR of an existing dir) still adds its (empty)
  // layer: docker 20.10 with BuildKit does the same, and the peer tests compare layer counts.
  const withLayer = (s: StageState, layer: StepLayer, createdBy: string, created: string): StageState => ({ ...s, draft: addLayer(s.draft, layer, history(created, createdBy)) });

  // COPY --from=<image> and mounts' from=<image>: each image is loaded once per build.
  const images = new Map<string, Promise<StageState>>();
  const image = (ref: string): Promise<StageState> => {
    let p = images.get(ref);
    if (!p) images.set(ref, (p = imageState(deps, ref)));
    return p;
  };
  const copy = copyStep(deps, image);

  /** A mount's from=: the stage the plan resolved it to (matched by the mount's range), else an image. */
  const mountFrom = (v: RunVertex, stages: ReadonlyMap<number, StageState>): MountFrom => async (m) => {
    const edge = v.edges.find((e) => e.via === 'mount-from' && e.range.start === m.range.start && e.range.end === m.range.end);
    if (!edge) return image(m.from!);
    const s = stages.get(edge.stage);
    if (!s) throw new Error(`stage ${edge.stage} is not built yet`);
    return s;
  };

  // Clamped mtimes change the layer bytes, so the epoch is part of the key (absent when unset).
  const keyFields: BuildKeyFields = { platform: formatPlatform(deps.platform), ...(deps.sourceDateEpoch !== undefined ? { sourceDateEpoch: deps.sourceDateEpoch } : {}) };

  return {
    keyFields,

    from: (stage: PlanStage, _v, stages) => fromStage(deps, stage, stages),

    meta: (v, state) => applyMeta(state, v.instruction, v.label),

    async keyMaterial(v, state, stages): Promise<StepKeyInputs> {
      switch (v.kind) {
        case 'run': {
          const p = runPlan(v, state, deps.network);
          const r = v.instruction;
          const command = r.command.form === 'exec' ? { exec: r.command.args.map((w) => w.value) } : { shell: r.command.text.value };
          const mounts = await mountKeyMaterial(deps, v.label, r.mounts, mountFrom(v, stages));
          // --add-host only when given, so other keys stay as they were.
          const hosts = deps.extraHosts?.length ? { extraHosts: deps.extraHosts } : {};
          const exec = { env: p.env.map((e) => keyedEnv(e, state.argKeys)), user: p.user, workdir: p.workdir, shell: p.shell ?? null, network: p.network, mounts, ...hosts };
          const files = r.files.map((f) => ({ name: f.name, data: f.data, chomp: f.chomp, expand: f.expand }));
          // The arg names (not values) let a miss say "build arg" rather than "env".
          return { key: { op: { kind: 'RUN', command, files, network: r.network, security: r.security }, exec }, detail: { args: state.argKeys } };
        }
        case 'copy':
        case 'add':
          return copy.keyMaterial(v, state, stages);
        case 'workdir':
          return { key: { op: { kind: 'WORKDIR', path: absolutePath(state, v.instruction.value.value) }, exec: { user: state.draft.config.config?.User ?? '' } } };
        default:
          return unreachable(v, 'vertex');
      }
    },

    explain: (_v, now, before, fields) => explainStep(now, before, fields),

    async reuse(v, state, record) {
      await deps.protect(record.layer.digest);
      const next = withLayer(state, { descriptor: record.layer, diffId: record.diffId }, createdBy(v, state), record.created);
      return { ...afterStep(v, next), key: record.key };
    },

    async execute(v, state, key, stages, io) {
      let layer: StepLayer;
      switch (v.kind) {
        case 'run':
          layer = await runStep(deps, v, state, mountFrom(v, stages), io);
          break;
        case 'copy':
        case 'add':
          layer = await copy.execute(v, state, stages, io);
          break;
        case 'workdir': {
          const path = absolutePath(state, v.instruction.value.value);
          layer = await writeThroughOverlay(deps, state, async (rootfs, users) => {
            const u = await resolveUser(users, state.draft.config.config?.User);
            await mkdirInRoot(rootfs, path, { uid: u.uid, gid: u.gid });
          }, undefined, undefined, { dest: path, replaceFile: false });
          break;
        }
        default:
          return unreachable(v, 'vertex');
      }
      const created = isoTime();
      const next = withLayer(state, layer, createdBy(v, state), created);
      return { state: { ...afterStep(v, next), key }, layer, created };
    },
  };
}

/** docker's history text for a layer step. */
function createdBy(v: LayerVertex, state: StageState): string {
  switch (v.kind) {
    case 'run':
      return runCreatedBy(runPlan(v, state, 'none').args, state.argKeys, new Map(v.runEnv?.vars ?? []));
    case 'copy':
    case 'add':
      return copyStepCreatedBy(v);
    case 'workdir':
      return v.label;
    default:
      return unreachable(v, 'vertex');
  }
}

/** WORKDIR also sets the config's WorkingDir. */
function afterStep(v: LayerVertex, s: StageState): StageState {
  if (v.kind !== 'workdir') return s;
  return { ...s, draft: updateContainerConfig(s.draft, { WorkingDir: absolutePath(s, v.instruction.value.value) }) };
}
