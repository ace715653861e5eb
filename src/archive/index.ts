/**
 * archive: images in and out of the store as files — `wharf save` / `load` (one tar that is at
 * once an OCI layout and a docker archive; loads verify every blob, diff_id and entry path before
 * anything is committed), `wharf import` (a rootfs tarball as a one-layer image) and the
 * `--output type=local|tar|docker|oci` exporters of a build.
 *
 *   await loadArchive(store, file, { name })      → LoadedEntry[]
 *   await saveImages(store, names, out)           → SaveResult (out: a path, or { stream, name } for stdout)
 *   await importRootfs(store, file, ref, opts)    → CommittedImage
 *   await exportRootfs(blobs, image, dir) / exportRootfsTar(blobs, image, out, scratch)
 */
export { loadArchive } from './load.js';
export { saveImages, writeArchive } from './save.js';
export { importRootfs } from './import.js';
export { exportRootfs, exportRootfsTar } from './rootfs.js';
export type { OutputDest } from './output.js';
export type { LoadInput } from './load.js';
