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
 * (pulled from there, or pushed there) is mounted from it, and so is a build's layer the store
 * lacks (a cache hit: RemoteLayers names the cache repository); the rest is uploaded (monolithic, or in
 * chunks). A layer compressed for the first time has no digest to HEAD until it is made, so it is
 * streamed to the registry while it is compressed (as docker does), unless chunks were asked for. The manifest is PUT by tag: Docker schema2 (which docker 20.10 pulls) when the format is
 * `docker` (the default) and every layer is gzip, else an OCI manifest. The stored manifest's own
 * bytes go when they already are what would be sent, so its digest stays the one the store knows.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { documentBytes, loadImage, MEDIA_TYPE_CONFIG, MEDIA_TYPE_MANIFEST, type ImageManifest } from '../image/index.js';
import type { Sha256 } from '../hash/index.js';
import { compressor, layerMediaType, type Compression } from '../layer/index.js';
import { familiarName, type Descriptor, type Lease, type Reference, type Store } from '../store/index.js';
import { limiter } from '../util/index.js';
import { MEDIA_DOCKER_MANIFEST } from './manifest.js';
import { repositoryOf, type RegistryHttp, type Repository } from './types.js';
import { putManifest, sendBlob, streamBlob, type BlobOutcome, type UploadTarget } from './upload.js';
import { openWireRecords, type WireCompression, type WireRecords } from './wire.js';

const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';
const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
const isGzipLayer = (t: string) => t === `${OCI_LAYER_TAR}+gzip` || t === DOCKER_LAYER_GZIP;
const isPlainLayer = (t: string) => t === OCI_LAYER_TAR || t === DOCKER_LAYER_TAR;
/** Docker's layer types in OCI terms (an OCI manifest lists OCI types). */
const ociLayerType = (t: string) => (t === DOCKER_LAYER_GZIP ? `${OCI_LAYER_TAR}+gzip` : t === DOCKER_LAYER_TAR ? OCI_LAYER_TAR : t);

/**
 * Blobs sent at once (docker sends 5, skopeo 6): the registry hashes and writes what it receives,
 * so more uploads at once keep its side busy too (3 → 6: ~10% off a 5-layer push, bench "Registry").
 */
const UPLOAD_CONCURRENCY = 6;

export type PushFormat = 'docker' | 'oci';

/**
 * A layer's progress. `digest` is what the registry gets; `source` the stored layer it was made
 * from, when compressed for the push (a view keys its line by `source ?? digest`). Every layer is
 * announced `waiting` first; `uploading` reports bytes sent of `total` (for a layer compressed as
 * it is sent, the stored layer's bytes read of its size).
 */
export type PushEvent =
  | { readonly type: 'layer'; readonly digest: Sha256; readonly state: 'waiting'; readonly total: number }
  | { readonly type: 'layer'; readonly digest: Sha256; readonly state: 'compressing'; readonly source: Sha256 }
  | { readonly type: 'layer'; readonly digest: Sha256; readonly state: 'uploading'; readonly bytes: number; readonly total: number; readonly source?: Sha256 }
  | { readonly type: 'layer'; readonly digest: Sha256; readonly state: BlobOutcome; readonly from?: string; readonly source?: Sha256 };

/** Bytes between two `uploading` events of one layer. */
const PROGRESS_STEP = 1 << 20;

/** `body` as it is, reporting the bytes read so far (each PROGRESS_STEP, and at the end). */
async function* reported(body: AsyncIterable<Uint8Array>, total: number, report: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let n = 0;
  let last = 0;
  for await (const c of body) {
    n += c.length;
    if (n - last >= PROGRESS_STEP || n === total) {
      last = n;
      report(n);
    }
    yield c;
  }
}

export interface PushOptions {
  /** How uncompressed layers go over the wire (default gzip). */
  readonly compression?: Compression;
  /** docker (default): schema2 when every layer is gzip, else OCI; oci: always OCI. */
  readonly format?: PushFormat;
  /** Upload blobs larger than this in PATCH chunks of this size (default: one PUT each). */
  readonly chunkSize?: number;
  readonly onEvent?: (e: PushEvent) => void;
  readonly signal?: AbortSignal;
  /** The image to push (a build's result, not tagged yet); by default the one `ref` names in the store. */
  readonly image?: { readonly manifest: ImageManifest; readonly manifestDescriptor: Descriptor };
  /** Layers of `image` that may be absent from the store (a build's imported cache hits). */
  readonly remote?: RemoteLayers;
}

/**
 * Where a layer the store lacks can be had: a repository that holds it (mounted from when it is on
 * the push's registry, so it is never downloaded), and a way to fetch it into the store when it
 * cannot be mounted or must be compressed first.
 */
export interface RemoteLayers {
  origin(d: Descriptor): Repository | undefined;
  fetch(d: Descriptor): Promise<void>;
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
  const img = opts.image ?? (await loadImage(store, name));
  const remote = opts.remote;
  const absent = async (d: Descriptor) => remote !== undefined && !(await store.has(d.digest));
  /** The bytes of a blob, fetched first when the store lacks it. */
  const openBlob = (d: Descriptor) =>
    (async function* () {
      if (await absent(d)) await remote!.fetch(d);
      yield* store.openRead(d.digest, d.size) as AsyncIterable<Uint8Array>;
    })();
  const repo = repositoryOf(ref);
  const wire = openWireRecords(store.root, store);
  const emit = opts.onEvent ?? (() => undefined);
  const compression = opts.compression ?? 'gzip';

  const target: UploadTarget = { http, repo, name, ...(opts.signal ? { signal: opts.signal } : {}) };
  let sent = 0;
  let mounted = 0;
  let compressed = 0;
  const blob = async (d: Descriptor, report: boolean, source?: Sha256) => {
    const from = await wire.origins(d.digest, repo.domain);
    // A layer only the cache repository has is mounted from there, never downloaded and sent back.
    const origin = (await absent(d)) ? remote!.origin(d) : undefined;
    if (origin?.domain === repo.domain && !from.includes(origin.path)) from.unshift(origin.path);
    const open = () => openBlob(d);
    const body = report ? () => reported(open(), d.size, (bytes) => emit({ type: 'layer', digest: d.digest, state: 'uploading', bytes, total: d.size, ...(source ? { source } : {}) })) : open;
    const outcome = await sendBlob(target, d, body, {
      mountFrom: from,
      sessions: { load: () => wire.uploadSession(d.digest, repo), save: (loc) => wire.recordUploadSession(d.digest, repo, loc) },
      ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
    });
    if (outcome === 'pushed') sent++;
    if (outcome === 'mounted') mounted++;
    await wire.recordOrigin(d.digest, repo);
    if (report) emit({ type: 'layer', digest: d.digest, state: outcome, ...(outcome === 'mounted' ? { from: from.find((p) => p !== repo.path)! } : {}), ...(source ? { source } : {}) });
  };

  // Compressed copies are written under a lease until their records make GC keep them.
  const lease = await store.lease();
  let layers: Descriptor[];
  try {
    const limit = limiter(UPLOAD_CONCURRENCY);
    // The config goes alongside the layers: its HEAD, POST and PUT need not wait for the largest.
    for (const l of img.manifest.layers) emit({ type: 'layer', digest: l.digest, state: 'waiting', total: l.size });
    const config = blob(img.manifest.config, false);
    config.catch(() => undefined); // settled with the layers below
    layers = await allDone(
      img.manifest.layers.map((l) =>
        limit(async () => {
          opts.signal?.throwIfAborted();
          if (!isPlainLayer(l.mediaType) || compression === 'none') {
            await blob(l, true);
            return l;
          }
          // Compressing for the wire needs the bytes.
          if (await absent(l)) await remote!.fetch(l);
          const known = await wire.compressed(l.digest, compression);
          if (known) {
            await lease.add(known.digest);
            await blob(known, true, l.digest);
            return known;
          }
          compressed++;
          // Its digest is known only once it is compressed: sent while it is made (no HEAD), or,
          // for chunked uploads or when that fails, from the stored copy afterwards.
          const made = await compressCopy(store, lease, wire, l, compression, opts.chunkSize ? undefined : target, emit);
          if (made.sent) {
            sent++;
            await wire.recordOrigin(made.descriptor.digest, repo);
            emit({ type: 'layer', digest: made.descriptor.digest, state: 'pushed', source: l.digest });
          } else {
            await blob(made.descriptor, true, l.digest);
          }
          return made.descriptor;
        }),
      ),
      config,
    );
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

/**
 * Compresses an uncompressed layer into the store and records the copy. With `target`, the bytes
 * also stream to the registry as they are made (compressing and sending overlap); `sent` says
 * whether that upload completed. A failed upload is not an error here: the copy is then complete
 * in the store and the caller sends it the ordinary way, which reports what is wrong.
 */
async function compressCopy(store: Store, lease: Lease, wire: WireRecords, l: Descriptor, kind: WireCompression, target: UploadTarget | undefined, emit: (e: PushEvent) => void): Promise<{ descriptor: Descriptor; sent: boolean }> {
  emit({ type: 'layer', digest: l.digest, state: 'compressing', source: l.digest });
  const w = await lease.blobs.writer();
  const out = target ? new PassThrough({ highWaterMark: 4 << 20 }) : undefined;
  let settle!: (d: Sha256 | Error) => void;
  const committed = new Promise<Sha256 | Error>((r) => (settle = r));
  let uploading = out !== undefined;
  const upload = target && out
    ? streamBlob(target, `the ${kind} copy of layer ${l.digest}`, out, async () => {
        const d = await committed;
        if (d instanceof Error) throw d;
        return d;
      }).then(
        () => true,
        () => {
          uploading = false;
          out.destroy();
          return false;
        },
      )
    : Promise.resolve(false);
  try {
    const read = target ? reported(store.openRead(l.digest, l.size) as AsyncIterable<Uint8Array>, l.size, (bytes) => emit({ type: 'layer', digest: l.digest, state: 'uploading', bytes, total: l.size, source: l.digest })) : store.openRead(l.digest, l.size);
    await pipeline(read, compressor(kind), async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) {
        await w.write(c);
        if (uploading && out && !out.write(c)) await Promise.race([once(out, 'drain').catch(() => undefined), upload]);
      }
    });
    out?.end();
    const { digest, size } = await w.commit();
    settle(digest);
    const descriptor: Descriptor = { mediaType: layerMediaType(kind), digest, size };
    await wire.recordCompressed(l.digest, kind, descriptor);
    return { descriptor, sent: await upload };
  } catch (e) {
    settle(e instanceof Error ? e : new Error(String(e)));
    out?.destroy();
    await upload;
    throw e;
  } finally {
    await w.abort();
  }
}

/**
 * Promise.all that settles only when every task (and `also`) has: a failed upload must not leave
 * the others writing compressed copies, or adding them to a lease already released, after the
 * push has rejected. The first failure is what it rejects with.
 */
async function allDone<T>(tasks: readonly Promise<T>[], also: Promise<unknown>): Promise<T[]> {
  let first: { readonly reason: unknown } | undefined;
  const noted = <U>(p: Promise<U>) => p.catch((reason: unknown) => {
    first ??= { reason };
    throw reason;
  });
  const settled = await Promise.allSettled([...tasks.map(noted), noted(also)]);
  if (first) throw first.reason;
  return settled.slice(0, tasks.length).map((r) => (r as PromiseFulfilledResult<T>).value);
}
