/**
 * ops: what each vertex does on real layers, for the solver (`VertexOps`), plus the two small
 * stores that live with the steps that write them (copy/lineage.ts, mounts/cache.ts).
 *
 *   const ops = buildOps(deps)                     FROM, RUN, COPY/ADD, WORKDIR, metadata
 *   runInContainer(deps, layers, process, ...)     one process over an image's layers (wharf run)
 *   copyLineageGcHook(root, blobs)                 GC keeps lineage records only while their layer lives
 *   forgetLineages(root, layers)                   wharf bench --mode cold
 *   pruneCacheMounts(store)                        wharf prune --cache-mounts
 *   withCacheMountDir(store, id, fn)               a cache mount's dir, held, for export and restore
 *
 *   copy/     COPY and ADD: source selection, the copy itself, ADD <url>, incremental reuse, lineage
 *   mounts/   RUN --mount: cache, bind, secret, ssh (tmpfs is a spec only)
 */
export { buildOps } from './build-ops.js';
export { fsWriteCounts } from './fs-write.js';
export { applyMeta } from './meta.js';
export { copyAll, type Owner } from './copy/copy.js';
export { selectStage } from './copy/sources.js';
export { layersOf, runInContainer } from './container.js';
export { keptWorkDirs, type WorkDirs } from './work-dirs.js';
export { copyLineageGcHook, forgetLineages } from './copy/lineage.js';
export { pruneCacheMounts, withCacheMountDir } from './mounts/cache.js';
