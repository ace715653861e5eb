import { sha256Hex } from '../hash/index.js';
import { type LoadedImage, imageSize } from './load.js';

/**
 * A tag entry's annotation naming the image as its registry knows it (`repo@sha256:…`, recorded by
 * pull): what docker shows as RepoDigests.
 */
export const REPO_DIGEST_ANNOTATION = 'io.wharf.repo.digest';

/** `docker image inspect`-shaped JSON for one image (the fields a user or script reaches for). */
export function inspectView(img: LoadedImage, repoTags: readonly string[], repoDigests: readonly string[] = []): Record<string, unknown> {
  const c = img.config;
  return {
    Id: img.id,
    RepoTags: [...repoTags],
    RepoDigests: [...new Set(repoDigests)],
    Parent: '',
    Comment: c.history?.at(-1)?.comment ?? '',
    Created: c.created ?? '',
    DockerVersion: '',
    Author: c.author ?? '',
    Config: c.config ?? {},
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: imageSize(img),
    RootFS: { Type: c.rootfs.type, Layers: [...c.rootfs.diff_ids] },
    Metadata: { ManifestDigest: img.manifestDescriptor.digest },
  };
}

export interface HistoryRow {
  /** The image ID on the newest row, `<missing>` below it, as docker prints it. */
  readonly id: string;
  readonly created?: string;
  readonly createdBy: string;
  /** Compressed size of the layer the step made, 0 for empty_layer steps. */
  readonly size: number;
  readonly comment: string;
}

/** History newest first, each non-empty step paired with its layer in order. */
export function historyRows(img: LoadedImage): HistoryRow[] {
  const layers = img.manifest.layers;
  let li = 0;
  const rows: HistoryRow[] = [];
  for (const h of img.config.history ?? []) {
    const size = h.empty_layer ? 0 : (layers[li++]?.size ?? 0);
    rows.push({ id: '<missing>', ...(h.created ? { created: h.created } : {}), createdBy: h.created_by ?? '', size, comment: h.comment ?? '' });
  }
  rows.reverse();
  if (rows[0]) rows[0] = { ...rows[0], id: sha256Hex(img.id).slice(0, 12) };
  return rows;
}
