import { join } from 'node:path';
import { CHMOD_HINT, parseChmod, type CopyInstruction } from '../../instructions/index.js';
import type { CopyVertex } from '../../plan/index.js';
import type { CopyKey } from '../../cache/index.js';
import { digestTreeRecords, type TreeRecord } from '../../context/index.js';
import type { FileSpan, Xattrs } from '../../layer/index.js';
import type { StepIo, StepKeyInputs, StepLayer } from '../../solver/index.js';
import { formatPlatform, UserError } from '../../util/index.js';
import { cloneThenCommit, writeThroughOverlay, withStageView } from '../fs-write.js';
import { copyCreatedBy } from '../history.js';
import { absolutePath, workdirOf, type BuildDeps, type StageState } from '../state.js';
import { copyAll, resolveOwner } from './copy.js';
import { addFetched, checkChecksumFlag, fetchUrl, isUrlSource, type FetchedUrl } from './fetch-url.js';
import { readLineage, writeLineage } from './lineage.js';
import { cloneable as treeCloneable, lineageId, lineageOf, planCopy, spliceSource } from './reuse.js';
import { selectContext, selectStage, type Selection, type SourceRoot, type SourceSpec } from './sources.js';

/** Larger COPYs keep no per-file records: a miss is then explained as "the copied files changed". */
const MAX_EXPLAIN_RECORDS = 2000;

/** COPY and ADD for the solver: their key material and the copy itself, sharing per-build lookups. */
export interface CopyStep {
  keyMaterial(v: CopyVertex, state: StageState, stages: ReadonlyMap<number, StageState>): Promise<StepKeyInputs>;
  execute(v: CopyVertex, state: StageState, stages: ReadonlyMap<number, StageState>, io: StepIo): Promise<StepLayer>;
}

/** Flags and forms wharf does not implement, refused before anything runs; checks a --chmod value. */
export function unsupportedCopyFlags(v: CopyVertex): void {
  const ins = v.instruction;
  const no = (what: string, hint?: string) => new UserError('build.unsupported', `${v.label}: ${what} is not supported yet`, hint);
  if (ins.kind === 'ADD' && ins.sources.some((s) => /^[a-z]+:\/\//i.test(s.value) && !/^https?:\/\//i.test(s.value))) throw no('ADD from a URL other than http(s)');
  if (ins.keepGitDir) throw no('ADD --keep-git-dir (git sources)', 'clone the repository into the build context and COPY it');
  if (ins.chmod && !parseChmod(ins.chmod.value)) throw new UserError('build.bad-chmod', `${v.label}: invalid chmod value: ${ins.chmod.value}`, CHMOD_HINT);
}

/** The source selection flags of a COPY/ADD. */
export function sourceSpec(ins: CopyInstruction, label: string): SourceSpec {
  return { sources: ins.sources.map((w) => w.value), parents: ins.parents, exclude: ins.exclude.map((w) => w.value), label };
}

/** docker's history text for a COPY/ADD. */
export function copyStepCreatedBy(v: CopyVertex): string {
  const cp = v.instruction;
  return copyCreatedBy(cp.kind, [...cp.sources.map((w) => w.value), ...cp.contents.map((f) => `<<${f.name}`)], cp.dest.value);
}

const destIsDir = (dest: string) => dest.endsWith('/') || dest === '.' || dest.endsWith('/.');

/** The directories dir sources make below the destination, parents first (each source's walk is depth-first). */
function contextDirsBelow(roots: readonly SourceRoot[]): string[] {
  const dirs = new Set<string>();
  for (const r of roots) if (r.items[0]?.type === 'dir') for (const it of r.items.slice(1)) if (it.type === 'dir') dirs.add(it.rel);
  return [...dirs].sort((a, b) => a.split('/').length - b.split('/').length);
}

/** The stage a COPY --from reads (the plan resolved names and indices into edges). */
function copyFromStage(v: CopyVertex, stages: ReadonlyMap<number, StageState>): StageState | undefined {
  const edge = v.edges.find((e) => e.via === 'copy-from');
  if (!edge) return undefined;
  const s = stages.get(edge.stage);
  if (!s) throw new Error(`stage ${edge.stage} is not built yet`);
  return s;
}

/** `image`: COPY --from=<image>, loaded once per build (the caller shares it with mounts' from=). */
export function copyStep(deps: BuildDeps, image: (ref: string) => Promise<StageState>): CopyStep {
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
  const selections = new Map<CopyVertex, Selection>();
  const selectionOf = (v: CopyVertex): Selection => {
    let sel = selections.get(v);
    if (!sel) selections.set(v, (sel = selectContext(deps.context.dir, deps.context.entries, { ...sourceSpec(v.instruction, v.label), sources: localSources(v.instruction) })));
    return sel;
  };

  // What a context COPY's key was made of, for an incremental copy from its previous run.
  const copyInputs = new Map<CopyVertex, { key: CopyKey; records: TreeRecord[] }>();

  return {
    async keyMaterial(v, state, stages) {
      unsupportedCopyFlags(v);
      const cp = v.instruction;
      if (cp.kind === 'ADD') checkChecksumFlag(v.label, cp.sources.map((w) => w.value), cp.checksum?.value);
      const urls = urlSources(cp);
      // Keyed on the digest of the fetched content (fetch-url.ts says why), or, as BuildKit does,
      // on --checksum without fetching: the content is checked against it when the step runs.
      const digestOf = async (u: string) => cp.checksum?.value ?? (await fetchOnce(u, cp, v.label)).digest;
      const fetched = urls.length ? { urls: await Promise.all(urls.map(digestOf)) } : {};
      const op: CopyKey['op'] = {
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
      const fromStageState = copyFromStage(v, stages);
      const exec = { workdir: workdirOf(state), chown: op.chown, chmod: op.chmod, ...(cp.from && !cp.chown && cp.sources.length > 0 ? { keepOwner: true as const } : {}) };
      if (cp.sources.length === 0) return { key: { op, exec } };
      if (fromStageState) return { key: { op, exec, inputs: { stage: fromStageState.key } } };
      if (cp.from) return { key: { op, exec, inputs: { image: (await image(cp.from.value)).key } } };
      if (localSources(cp).length === 0) return { key: { op, exec, inputs: fetched } };
      // Excluded files are not selected, so they never reach the key.
      const records = await deps.context.treeRecords(selectionOf(v).entries);
      const key: CopyKey = { op, exec, inputs: { tree: digestTreeRecords(records), ...fetched } };
      copyInputs.set(v, { key, records });
      return records.length <= MAX_EXPLAIN_RECORDS ? { key, detail: { files: records } } : { key };
    },

    async execute(v, state, stages, io) {
      const cp = v.instruction;
      const from = copyFromStage(v, stages) ?? (cp.from ? await image(cp.from.value) : undefined);
      const destRaw = cp.dest.value;
      const chmod = cp.chmod ? parseChmod(cp.chmod.value)! : undefined;
      // A context COPY of one directory can start from its previous run (reuse.ts).
      const inputs = copyInputs.get(v);
      const sel = inputs && cp.kind === 'COPY' && !from && !cp.parents && cp.contents.length === 0 ? selectionOf(v) : undefined;
      const planned = inputs && sel?.roots.length === 1 && sel.roots[0]!.items[0]?.type === 'dir'
        ? planCopy(sel.roots[0]!, absolutePath(state, destRaw), deps.context.dir, inputs.records, sel.entries, chmod) : undefined;
      const lineage = inputs && planned
        ? lineageId(state.draft.config.rootfs.diff_ids, { op: inputs.key.op, exec: inputs.key.exec, platform: formatPlatform(deps.platform) }) : undefined;
      // Context files the key found carried attributes on: the copy sets them too.
      const xattrSources = new Set((inputs?.records ?? []).filter((r) => r.xattrs).map((r) => join(deps.context.dir, r.path)));
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
      // A context COPY's directories are known before it runs: those the image has already are
      // copied up first when it writes without a mount (fs-write.ts). COPY --from's are not (a
      // directory merging with one of the image then takes the mount).
      const dirsBelow = cp.kind === 'COPY' && !from && urlSources(cp).length === 0 && cp.sources.length ? contextDirsBelow(selectionOf(v).roots) : undefined;
      let layer: StepLayer;
      if (cloned) {
        const taken = spliced ? ` (${spliced} of them straight from its layer)` : '';
        io.log('stdout', `reused ${cloned.linked} unchanged files from the previous run of this step${taken}, copied ${cloned.copied}${cloned.removed ? `, left out ${cloned.removed} removed` : ''}`);
        layer = { descriptor: cloned.descriptor, diffId: cloned.diffId };
      } else layer = await writeThroughOverlay(deps, state, async (rootfs, users) => {
        owner = await resolveOwner(users, cp.chown?.value);
        const opts = {
          dest: absolutePath(state, destRaw),
          destIsDir: destIsDir(destRaw),
          owner,
          ...(from && !cp.chown ? { keepOwner: true } : {}),
          ...(chmod ? { chmod } : {}),
          extract: cp.kind === 'ADD' && cp.unpack !== false,
          label: v.label,
          ...(xattrSources.size ? { xattrSources } : {}),
        };
        const sources = cp.sources.map((w) => w.value);
        const urls = urlSources(cp);
        const local = localSources(cp);
        if (cp.sources.length === 0) await copyAll(rootfs, [], cp.contents, opts);
        else if (from) await withStageView(deps, from, async (src) => copyAll(rootfs, (await selectStage(src, sourceSpec(cp, v.label))).roots, cp.contents, opts));
        else {
          if (urls.length) await addFetched(rootfs, await Promise.all(urls.map((u) => fetchOnce(u, cp, v.label))), deps.blobs, sources.length, opts);
          if (local.length || cp.contents.length) await copyAll(rootfs, local.length ? selectionOf(v).roots : [], cp.contents, opts);
        }
      }, planned ? inspect : undefined, planned ? { onFile } : undefined,
      // ADD (archives, URLs) always writes on a mount.
      cp.kind === 'COPY' ? { dest: absolutePath(state, destRaw), replaceFile: !destIsDir(destRaw), ...(dirsBelow ? { dirsBelow } : {}) } : undefined);
      if (lineage && planned && cloneable) writeLineage(deps.store.root, lineage, lineageOf(layer, planned, owner, spans));
      return layer;
    },
  };
}
