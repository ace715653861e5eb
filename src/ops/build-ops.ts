import { posix } from 'node:path';
import { addLayer, updateContainerConfig } from '../image/index.js';
import { parseChmod, type CopyInstruction, type RunInstruction, type TextInstruction } from '../instructions/index.js';
import type { PlanStage, Vertex } from '../plan/index.js';
import { CACHE_KEY_VERSION } from '../cache/index.js';
import { digestTreeRecords, type TreeRecord } from '../context/index.js';
import type { KeyInputs, StepLayer, VertexOps } from '../solver/index.js';
import { explainStep } from './explain.js';
import { resolveUser } from '../runtime/index.js';
import { copyAll, mkdirInRoot, resolveOwner, sourceSpec, unsupportedCopyFlags } from './copy/copy.js';
import { selectContext, selectStage, type Selection } from './copy/sources.js';
import { fromStage, imageState } from './from.js';
import { cloneThenCommit, writeThroughOverlay, withStageView } from './fs-write.js';
import { cloneable as treeCloneable, lineageId, lineageOf, planCopy, spliceSource } from './copy/reuse.js';
import { readLineage, writeLineage } from './copy/lineage.js';
import type { FileSpan, Xattrs } from '../layer/index.js';
import { applyMeta } from './meta.js';
import { copyCreatedBy, runCreatedBy } from './history.js';
import { runPlan, runStep } from './run.js';
import { mountKeyMaterial, type MountFrom } from './mounts/mounts.js';
import { platformString, type BuildDeps, type StageState } from './state.js';
import { addFetched, checkChecksumFlag, fetchUrl, isUrlSource, type FetchedUrl } from './copy/fetch-url.js';

/** Larger COPYs keep no per-file records: a miss is then explained as "the copied files changed". */
const MAX_EXPLAIN_RECORDS = 2000;

const workdirOf = (s: StageState) => s.draft.config.config?.WorkingDir || '/';
const absolute = (s: StageState, p: string) => (p.startsWith('/') ? p : posix.join(workdirOf(s), p));

/** The stage a COPY --from reads (the plan resolved names and indices into edges). */
function copyFromStage(v: Vertex, stages: ReadonlyMap<number, StageState>): StageState | undefined {
  const edge = v.edges.find((e) => e.via === 'copy-from');
  if (!edge) return undefined;
  const s = stages.get(edge.stage);
  if (!s) throw new Error(`stage ${edge.stage} is not built yet`);
  return s;
}

/** FROM, RUN, COPY/ADD, WORKDIR and metadata on real layers, for the solver. */
export function buildOps(deps: BuildDeps): VertexOps<StageState> {
  // A layer step's history time is when its result was first made (the cache record's), so a
  // rebuild from the cache gives the same image ID, as BuildKit does.
  const history = (created: string, createdBy: string) => ({ created, created_by: createdBy, comment: 'buildkit.dockerfile.v0' });
  // A step that changed nothing (`RUN true`, WORKDIR of an existing dir) still adds its (empty)
  // layer: docker 20.10 with BuildKit does the same, and the peer tests compare layer counts.
  const withLayer = (s: StageState, layer: StepLayer, createdBy: string, created: string): StageState => ({ ...s, draft: addLayer(s.draft, layer, history(created, createdBy)) });

  // COPY --from=<image>: each image is loaded once per build.
  const images = new Map<string, Promise<StageState>>();
  const copyImage = (ref: string): Promise<StageState> => {
    let p = images.get(ref);
    if (!p) images.set(ref, (p = imageState(deps, ref)));
    return p;
  };

  // ADD <url>: fetched once per build, when the step's key is made; execute writes the same bytes.
  const fetches = new Map<string, Promise<FetchedUrl>>();
  const fetchOnce = (url: string, cp: CopyInstruction, label: string): Promise<FetchedUrl> => {
    const id = `${url} ${cp.checksum?.value ?? ''}`;
    let p = fetches.get(id);
    if (!p) fetches.set(id, (p = fetchUrl(url, deps.blobs, { label, ...(cp.checksum ? { checksum: cp.checksum.value } : {}), ...(deps.signal ? { signal: deps.signal } : {}) })));
    return p;
  };
  const urlSources = (cp: CopyInstruction) => (cp.kind === 'ADD' ? cp.sources.map((w) => w.value).filter(isUrlSource) : []);
  const localSources = (cp: CopyInstruction) => cp.sources.map((w) => w.value).filter((s) => !urlSources(cp).includes(s));

  // A COPY's context selection is made once: its key reads the entries, execute copies the roots
  // (on a 50k-file context a selection is tens of milliseconds).
  const selections = new Map<Vertex, Selection>();
  const selectionOf = (v: Vertex, cp: CopyInstruction): Selection => {
    let sel = selections.get(v);
    if (!sel) selections.set(v, (sel = selectContext(deps.context.dir, deps.context.entries, { ...sourceSpec(cp, v.label), sources: localSources(cp) })));
    return sel;
  };

  // What a context COPY's key was made of, for an incremental copy from its previous run.
  const copyInputs = new Map<Vertex, { material: Parameters<typeof lineageId>[1]; records: TreeRecord[] }>();

  /** A mount's from=: the stage the plan resolved it to (matched by the mount's range), else an image. */
  const mountFrom = (v: Vertex, stages: ReadonlyMap<number, StageState>): MountFrom => async (m) => {
    const edge = v.edges.find((e) => e.via === 'mount-from' && e.range.start === m.range.start && e.range.end === m.range.end);
    if (!edge) return copyImage(m.from!);
    const s = stages.get(edge.stage);
    if (!s) throw new Error(`stage ${edge.stage} is not built yet`);
    return s;
  };

  return {
    from: (stage: PlanStage, _v, stages) => fromStage(deps, stage, stages),

    meta: (v, state) => applyMeta(state, v.instruction, v.label),

    async keyMaterial(v, state, stages): Promise<KeyInputs> {
      // Clamped mtimes change the layer bytes, so the epoch is part of the key (absent when unset).
      const epoch = deps.sourceDateEpoch !== undefined ? { sourceDateEpoch: deps.sourceDateEpoch } : {};
      const base = { v: CACHE_KEY_VERSION, parent: state.key, platform: platformString(deps.platform), ...epoch } as const;
      const ins = v.instruction;
      const c = state.draft.config.config ?? {};
      switch (ins.kind) {
        case 'RUN': {
          const p = runPlan(v, state, deps.network);
          const r = ins as RunInstruction;
          const command = r.command.form === 'exec' ? { exec: r.command.args.map((w) => w.value) } : { shell: r.command.text.value };
          const mounts = await mountKeyMaterial(deps, v.label, r.mounts, mountFrom(v, stages));
          const exec = { env: p.env, user: p.user, workdir: p.workdir, shell: p.shell ?? null, network: p.network, mounts };
          const files = r.files.map((f) => ({ name: f.name, data: f.data, chomp: f.chomp, expand: f.expand }));
          return { material: { ...base, op: { kind: 'RUN', command, files, network: r.network, security: r.security }, exec } };
        }
        case 'COPY':
        case 'ADD': {
          unsupportedCopyFlags(v);
          const cp = ins as CopyInstruction;
          if (cp.kind === 'ADD') checkChecksumFlag(v.label, cp.sources.map((w) => w.value), cp.checksum?.value);
          const urls = urlSources(cp);
          // Keyed on the digest of the fetched content (copy/fetch-url.ts says why), or, as BuildKit does,
          // on --checksum without fetching: the content is checked against it when the step runs.
          const digestOf = async (u: string) => cp.checksum?.value ?? (await fetchOnce(u, cp, v.label)).digest;
          const fetched = urls.length ? { urls: await Promise.all(urls.map(digestOf)) } : {};
          const op = {
            kind: cp.kind,
            sources: cp.sources.map((w) => w.value),
            dest: cp.dest.value,
            from: cp.from?.value ?? null,
            chown: cp.chown?.value ?? null,
            chmod: cp.chmod?.value ?? null,
            link: cp.link,
            contents: cp.contents.map((f) => ({ name: f.name, data: f.data })),
            ...(cp.checksum ? { checksum: cp.checksum.value } : {}),
            // Only when used, so keys of COPYs without them stay as they were.
            ...(cp.parents ? { parents: true } : {}),
            ...(cp.exclude.length > 0 ? { exclude: cp.exclude.map((w) => w.value) } : {}),
            ...(cp.unpack !== undefined ? { unpack: cp.unpack } : {}),
          };
          const exec = { workdir: workdirOf(state), chown: op.chown, chmod: op.chmod };
          const fromStageState = copyFromStage(v, stages);
          if (cp.sources.length === 0) return { material: { ...base, op, exec } };
          if (fromStageState) return { material: { ...base, op, exec, inputs: { stage: fromStageState.key } } };
          if (cp.from) return { material: { ...base, op, exec, inputs: { image: (await copyImage(cp.from.value)).key } } };
          if (localSources(cp).length === 0) return { material: { ...base, op, exec, inputs: fetched } };
          // Excluded files are not selected, so they never reach the key.
          const records = await deps.context.treeRecords(selectionOf(v, cp).entries);
          const material = { ...base, op, exec, inputs: { tree: digestTreeRecords(records), ...fetched } };
          copyInputs.set(v, { material, records });
          return records.length <= MAX_EXPLAIN_RECORDS ? { material, detail: { files: records } } : { material };
        }
        case 'WORKDIR':
          return { material: { ...base, op: { kind: 'WORKDIR', path: absolute(state, (ins as TextInstruction).value.value) }, exec: { user: c.User ?? '' } } };
        default:
          throw new Error(`not a filesystem instruction: ${ins.kind}`);
      }
    },

    explain: (_v, now, before) => explainStep(now, before),

    async reuse(v, state, record) {
      await deps.protect(record.layer.digest);
      const next = withLayer(state, { descriptor: record.layer, diffId: record.diffId }, createdBy(v, state), record.created);
      return { ...afterStep(v, next), key: record.key };
    },

    async execute(v, state, key, stages, io) {
      const ins = v.instruction;
      let layer: StepLayer;
      if (ins.kind === 'RUN') {
        layer = await runStep(deps, v, state, mountFrom(v, stages), io);
      } else if (ins.kind === 'COPY' || ins.kind === 'ADD') {
        const cp = ins as CopyInstruction;
        const from = copyFromStage(v, stages) ?? (cp.from ? await copyImage(cp.from.value) : undefined);
        const destRaw = cp.dest.value;
        const chmod = cp.chmod ? parseChmod(cp.chmod.value)! : undefined;
        // A context COPY of one directory can start from its previous run (copy/reuse.ts).
        const inputs = copyInputs.get(v);
        const sel = inputs && cp.kind === 'COPY' && !from && !cp.parents && cp.contents.length === 0 ? selectionOf(v, cp) : undefined;
        const planned = sel?.roots.length === 1 && sel.roots[0]!.items[0]?.type === 'dir'
          ? planCopy(sel.roots[0]!, absolute(state, destRaw), deps.context.dir, inputs!.records, sel.entries, chmod) : undefined;
        const lineage = planned ? lineageId(state.draft.config.rootfs.diff_ids, inputs!.material) : undefined;
        let cloneable = false;
        const inspect = (x: ReadonlyMap<string, Xattrs>) => void (cloneable = treeCloneable(x));
        const previous = lineage && deps.incrementalCopy ? readLineage(deps.store.root, lineage) : undefined;
        // Where the tar put each file, for the next run's lineage; a clone copies its unchanged
        // entries out of the previous layer instead of reading the files again.
        const spans = new Map<string, FileSpan>();
        let spliced = 0;
        const onFile = (p: string, span: FileSpan, fromPrevious: boolean) => {
          spans.set(p, span);
          if (fromPrevious) spliced++;
        };
        const earlier = previous && spliceSource(previous, (d) => deps.blobs.path(d));
        const cloned = previous && planned ? await cloneThenCommit(deps, state, previous, planned, inspect, { ...(earlier ? { from: earlier } : {}), onFile }) : undefined;
        let owner = previous?.owner ?? { uid: 0, gid: 0 };
        if (cloned) {
          const taken = spliced ? ` (${spliced} of them straight from its layer)` : '';
          io.log('stdout', `reused ${cloned.linked} unchanged files from the previous run of this step${taken}, copied ${cloned.copied}${cloned.removed ? `, left out ${cloned.removed} removed` : ''}`);
          layer = { descriptor: cloned.descriptor, diffId: cloned.diffId };
        } else layer = await writeThroughOverlay(deps, state, async (rootfs) => {
          owner = await resolveOwner(rootfs, cp.chown?.value);
          const opts = {
            dest: absolute(state, destRaw),
            destIsDir: destRaw.endsWith('/') || destRaw === '.' || destRaw.endsWith('/.'),
            owner,
            ...(chmod ? { chmod } : {}),
            extract: cp.kind === 'ADD' && cp.unpack !== false,
            label: v.label,
          };
          const sources = cp.sources.map((w) => w.value);
          const urls = urlSources(cp);
          const local = localSources(cp);
          if (cp.sources.length === 0) await copyAll(rootfs, [], cp.contents, opts);
          else if (from) await withStageView(deps, from, async (src) => copyAll(rootfs, (await selectStage(src, sourceSpec(cp, v.label))).roots, cp.contents, opts));
          else {
            if (urls.length) await addFetched(rootfs, await Promise.all(urls.map((u) => fetchOnce(u, cp, v.label))), deps.blobs, sources.length, opts);
            if (local.length || cp.contents.length) await copyAll(rootfs, local.length ? selectionOf(v, cp).roots : [], cp.contents, opts);
          }
        }, planned ? inspect : undefined, planned ? { onFile } : undefined);
        if (lineage && planned && cloneable) await writeLineage(deps.store.root, lineage, lineageOf(layer, planned, owner, spans));
      } else if (ins.kind === 'WORKDIR') {
        const path = absolute(state, (ins as TextInstruction).value.value);
        layer = await writeThroughOverlay(deps, state, async (rootfs) => {
          const u = await resolveUser(rootfs, state.draft.config.config?.User);
          await mkdirInRoot(rootfs, path, { uid: u.uid, gid: u.gid });
        });
      } else {
        throw new Error(`not a filesystem instruction: ${ins.kind}`);
      }
      const created = new Date().toISOString();
      const next = withLayer(state, layer, createdBy(v, state), created);
      return { state: { ...afterStep(v, next), key }, layer, created };
    },
  };
}

/** docker's history text for a layer step. */
function createdBy(v: Vertex, state: StageState): string {
  const ins = v.instruction;
  if (ins.kind === 'RUN') return runCreatedBy(runPlan(v, state, 'none').args, state.argKeys, new Map(v.runEnv?.vars ?? []));
  if (ins.kind === 'COPY' || ins.kind === 'ADD') {
    const cp = ins as CopyInstruction;
    return copyCreatedBy(cp.kind, [...cp.sources.map((w) => w.value), ...cp.contents.map((f) => `<<${f.name}`)], cp.dest.value);
  }
  return v.label;
}

/** WORKDIR also sets the config's WorkingDir. */
function afterStep(v: Vertex, s: StageState): StageState {
  if (v.instruction.kind !== 'WORKDIR') return s;
  return { ...s, draft: updateContainerConfig(s.draft, { WorkingDir: absolute(s, (v.instruction as TextInstruction).value.value) }) };
}
