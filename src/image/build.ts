import { canonicalJSON, sha256Of, type Sha256 } from '../hash/index.js';
import type { BlobStore, Descriptor } from '../store/index.js';
import {
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_MANIFEST,
  type ContainerConfig,
  type HistoryEntry,
  type ImageConfig,
  type ImageLayer,
  type ImageManifest,
} from './types.js';
import { isoTime, type Platform } from '../util/index.js';

/**
 * An image being assembled: its config and the layer descriptors beside it (diff_ids live in
 * the config). Every step returns a new draft, so a builder can branch from any point.
 */
export interface ImageDraft {
  readonly config: ImageConfig;
  readonly layers: readonly Descriptor[];
}

/** RFC 3339 without a zero fraction, as Go prints it. */
export function rfc3339(d: Date): string {
  return isoTime(d.getTime()).replace('.000Z', 'Z');
}

/**
 * The timestamp written into `created` and history: SOURCE_DATE_EPOCH (seconds) when given, so
 * rebuilds give the same config digest, else `now`. RFC 3339 without a zero fraction, as Go prints it.
 */
export function imageTimestamp(sourceDateEpoch: number | undefined, now: Date = new Date()): string {
  return rfc3339(sourceDateEpoch !== undefined ? new Date(sourceDateEpoch * 1000) : now);
}

/** An image with no layers (FROM scratch). */
export function scratchImage(platform: Platform): ImageDraft {
  return { config: { ...platform, rootfs: { type: 'layers', diff_ids: [] }, history: [], config: {} }, layers: [] };
}

/** Starts from a base image: config and layers as they are; `created` is set again on commit. */
export function fromImage(config: ImageConfig, layers: readonly Descriptor[]): ImageDraft {
  if (config.rootfs.diff_ids.length !== layers.length) {
    throw new Error(`base image has ${layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`);
  }
  return { config, layers };
}

/** Appends a layer and its history entry (a RUN, COPY, ADD or import). */
export function addLayer(draft: ImageDraft, layer: ImageLayer, history: Omit<HistoryEntry, 'empty_layer'>): ImageDraft {
  const c = draft.config;
  return {
    config: { ...c, rootfs: { type: 'layers', diff_ids: [...c.rootfs.diff_ids, layer.diffId] }, history: [...(c.history ?? []), { ...history }] },
    layers: [...draft.layers, layer.descriptor],
  };
}

/** Records a step that made no layer (ENV, CMD, …): history only, `empty_layer: true`. */
export function addEmptyHistory(draft: ImageDraft, history: Omit<HistoryEntry, 'empty_layer'>): ImageDraft {
  return { ...draft, config: { ...draft.config, history: [...(draft.config.history ?? []), { ...history, empty_layer: true }] } };
}

/** Replaces fields of the runtime config; a field given as undefined is removed. */
export function updateContainerConfig(draft: ImageDraft, patch: Partial<ContainerConfig>): ImageDraft {
  const next: Record<string, unknown> = { ...(draft.config.config ?? {}) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete next[k];
    else next[k] = v;
  }
  return { ...draft, config: { ...draft.config, config: next as ContainerConfig } };
}

export interface CommitOptions {
  /** The config's `created`, from imageTimestamp (SOURCE_DATE_EPOCH or now). */
  readonly created: string;
  readonly author?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface CommittedImage {
  /** Image ID, as docker shows it: the config digest. */
  readonly id: Sha256;
  readonly config: ImageConfig;
  readonly configDescriptor: Descriptor;
  readonly manifest: ImageManifest;
  /** What to tag (store.setTag) or put into an index. */
  readonly manifestDescriptor: Descriptor;
}

/** The JSON bytes of a config or manifest: sorted keys, so equal documents give equal digests. */
export const documentBytes = (doc: unknown): Buffer => Buffer.from(canonicalJSON(doc));

/** The final config and manifest documents of a draft (no I/O). */
export function finishImage(draft: ImageDraft, opts: CommitOptions): { config: ImageConfig; configBytes: Buffer } {
  const config: ImageConfig = { ...draft.config, created: opts.created, ...(opts.author !== undefined ? { author: opts.author } : {}) };
  return { config, configBytes: documentBytes(config) };
}

/**
 * Writes config and manifest blobs, together where the store can (putBytesAll: their fsyncs at
 * once, with those of layers stored with putBytesDeferred); the store is settled after, so every
 * layer the manifest names is in it.
 */
export async function commitImage(store: BlobStore, draft: ImageDraft, opts: CommitOptions): Promise<CommittedImage> {
  const { config, configBytes } = finishImage(draft, opts);
  const c = { digest: sha256Of(configBytes), size: configBytes.length };
  const configDescriptor: Descriptor = { mediaType: MEDIA_TYPE_CONFIG, digest: c.digest, size: c.size };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: configDescriptor,
    layers: draft.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size, ...(l.annotations ? { annotations: l.annotations } : {}) })),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const manifestBytes = documentBytes(manifest);
  const stored = store.putBytesAll ? await store.putBytesAll([configBytes, manifestBytes]) : [await store.putBytes(configBytes), await store.putBytes(manifestBytes)];
  await store.settle?.();
  const m = stored[1]!;
  return { id: c.digest, config, configDescriptor, manifest, manifestDescriptor: { mediaType: MEDIA_TYPE_MANIFEST, digest: m.digest, size: m.size } };
}
