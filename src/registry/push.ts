/**
 * Push: a stored image → a registry.
 *
 * Layers are compressed for the wire: an uncompressed layer (`--compression none`, the build
 * default, as docker keeps layers locally) is sent gzip-compressed by default, or zstd, or as it is;
 * layers stored gzip or zstd go as they are. The compressed copy is a blob in the store, and a
 * record (wire.ts) maps the uncompressed layer to it, so a second push neither compresses again nor
 * sends what the registry has. Compression is deterministic (fixed gzip headers, fixed levels), so
 * the same layer always gives the same compressed digest.
 *
 * Each blob is HEADed first; a blob the store knows another repository of this registry holds
 * (pulled from there, or pushed there) is mounted from it; the rest is uploaded (monolithic, or in
 * chunks). The manifest is PUT by tag: Docker schema2 (which docker 20.10 pulls) when the format is
 * `docker` (the default) and every layer is gzip, else an OCI manifest. The stored manifest's own
 * bytes go when they already are what would be sent, so its digest stays the one the store knows.
 */
import { pipeline } from 'node:stream/promises';
import { documentBytes, loadImage, MEDIA_TYPE_CONFIG, MEDIA_TYPE_MANIFEST, type ImageManifest } from '../image/index.js';
import type { Sha256 } from '../hash/index.js';
import { compressor, layerMediaType, type Compression } from '../layer/index.js';
import { familiarName, type Descriptor, type Lease, type Reference, type Store } from '../store/index.js';
import { limiter } from '../util/index.js';
import { MEDIA_DOCKER_MANIFEST } from './manifest.js';
import { repositoryOf, type RegistryHttp } from './types.js';
import { putManifest, sendBlob, type BlobOutcome, type UploadTarget } from './upload.js';
import { openWireRecords, type WireCompression, type WireRecords } from './wire.js';

const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';
const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
const isGzipLayer = (t: string) => t === `${OCI_LAYER_TAR}+gzip` || t === DOCKER_LAYER_GZIP;
const isPlainLayer = (t: string) => t === OCI_LAYER_TAR || t === DOCKER_LAYER_TAR;
/** Docker's layer types in OCI terms (an OCI manifest lists OCI types). */
const ociLayerType = (t: string) => (t === DOCKER_LAYER_GZIP ? `${OCI_LAYER_TAR}+gzip` : t === DOCKER_LAYER_TAR ? OCI_LAYER_TAR : t);

/** Blobs sent at once (docker sends 5; compression keeps the cores busy with fewer). */
const UPLOAD_CONCURRENCY = 3;

export type PushFormat = 'docker' | 'oci';

export type PushEvent =
  /** `digest` is what the registry gets; `source` the stored layer it was made from, when compressed. */
  | { readonly type: 'layer'; readonly digest: Sha256; readonly state: 'compressing'; readonly source: Sha256 }
  | { readonly type: 'layer'; readonly digest: Sha256; readonly state: BlobOutcome; readonly from?: string };

export interface PushOptions {
  /** How uncompressed layers go over the wire (default gzip). */
  readonly compression?: Compression;
  /** docker (default): schema2 when every layer is gzip, else OCI; oci: always OCI. */
  readonly format?: PushFormat;
  /** Upload blobs larger than this in PATCH chunks of this size (default: one PUT each). */
  readonly chunkSize?: number;
  readonly onEvent?: (e: PushEvent) => void;
  readonly signal?: AbortSignal;
}

export interface PushResult {
  readonly tag: string;
  readonly digest: Sha256;
  readonly size: number;
  readonly mediaType: string;
  /** Blobs uploaded (the others the registry had, or mounted). */
  readonly sent: number;
  /** Blobs mounted from another repository. */
  readonly mounted: number;
  /** Layers compressed for this push (not found compressed already). */
  readonly compressed: number;
}

export async function pushImage(http: RegistryHttp, store: Store, ref: Reference, opts: PushOptions = {}): Promise<PushResult> {
  const name = familiarName(ref);
  const img = await loadImage(store, name);
  const repo = repositoryOf(ref);
  const wire = openWireRecords(store.root, store);
  const emit = opts.onEvent ?? (() => undefined);
  const compression = opts.compression ?? 'gzip';

  const target: UploadTarget = { http, repo, name, ...(opts.signal ? { signal: opts.signal } : {}) };
  let sent = 0;
  let mounted = 0;
  let compressed = 0;
  const blob = async (d: Descriptor, report: boolean) => {
    const from = await wire.origins(d.digest, repo.domain);
    const outcome = await sendBlob(target, d, () => store.openRead(d.digest, d.size) as AsyncIterable<Uint8Array>, {
      mountFrom: from,
      ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
    });
    if (outcome === 'pushed') sent++;
    if (outcome === 'mounted') mounted++;
    await wire.recordOrigin(d.digest, repo);
    if (report) emit({ type: 'layer', digest: d.digest, state: outcome, ...(outcome === 'mounted' ? { from: from.find((p) => p !== repo.path)! } : {}) });
  };

  // Compressed copies are written under a lease until their records make GC keep them.
  const lease = await store.lease();
  let layers: Descriptor[];
  try {
    const limit = limiter(UPLOAD_CONCURRENCY);
    layers = await Promise.all(
      img.manifest.layers.map((l) =>
        limit(async () => {
          let d = l;
          if (isPlainLayer(l.mediaType) && compression !== 'none') {
            const copy = await compressedCopy(store, lease, wire, l, compression, (digest) => emit({ type: 'layer', digest, state: 'compressing', source: l.digest }));
            if (copy.made) compressed++;
            d = copy.descriptor;
          }
          opts.signal?.throwIfAborted();
          await blob(d, true);
          return d;
        }),
      ),
    );
    await blob(img.manifest.config, false);
  } finally {
    await lease.release();
  }

  const stored = img.manifestDescriptor;
  const unchanged = layers.every((d, i) => d.digest === img.manifest.layers[i]!.digest);
  let bytes: Buffer;
  let mediaType: string;
  if ((opts.format ?? 'docker') === 'docker' && layers.every((l) => isGzipLayer(l.mediaType))) {
    mediaType = MEDIA_DOCKER_MANIFEST;
    bytes = unchanged && stored.mediaType === mediaType
      ? await store.readBytes(stored.digest, stored.size)
      : documentBytes({
          schemaVersion: 2,
          mediaType,
          config: { mediaType: DOCKER_CONFIG, digest: img.manifest.config.digest, size: img.manifest.config.size },
          layers: layers.map((l) => ({ mediaType: DOCKER_LAYER_GZIP, digest: l.digest, size: l.size })),
        });
  } else {
    mediaType = MEDIA_TYPE_MANIFEST;
    const m: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_MANIFEST,
      config: { mediaType: MEDIA_TYPE_CONFIG, digest: img.manifest.config.digest, size: img.manifest.config.size },
      layers: layers.map((l) => ({ mediaType: ociLayerType(l.mediaType), digest: l.digest, size: l.size, ...(l.annotations ? { annotations: l.annotations } : {}) })),
      ...(stored.mediaType === MEDIA_TYPE_MANIFEST && img.manifest.annotations ? { annotations: img.manifest.annotations } : {}),
    };
    const same = unchanged && stored.mediaType === mediaType && layers.every((l, i) => l.mediaType === img.manifest.layers[i]!.mediaType);
    bytes = same ? await store.readBytes(stored.digest, stored.size) : documentBytes(m);
  }
  const tag = ref.tag ?? 'latest';
  const digest = await putManifest(target, tag, mediaType, bytes);
  return { tag, digest, size: bytes.length, mediaType, sent, mounted, compressed };
}

/** The `kind` copy of an uncompressed layer: the one a record names, else made now and recorded. */
async function compressedCopy(store: Store, lease: Lease, wire: WireRecords, l: Descriptor, kind: WireCompression, onStart: (d: Sha256) => void): Promise<{ descriptor: Descriptor; made: boolean }> {
  const known = await wire.compressed(l.digest, kind);
  if (known) {
    await lease.add(known.digest);
    return { descriptor: known, made: false };
  }
  onStart(l.digest);
  const w = await lease.blobs.writer();
  try {
    await pipeline(store.openRead(l.digest, l.size), compressor(kind), async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) await w.write(c);
    });
    const { digest, size } = await w.commit();
    const descriptor: Descriptor = { mediaType: layerMediaType(kind), digest, size };
    await wire.recordCompressed(l.digest, kind, descriptor);
    return { descriptor, made: true };
  } finally {
    await w.abort();
  }
}
