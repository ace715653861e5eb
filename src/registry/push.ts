/**
 * Push: a stored image → a registry. Each blob is HEADed first and sent only when the registry
 * lacks it (POST uploads/, then one monolithic PUT ?digest=). Layers go as they are stored: gzip and
 * zstd blobs as they are; an uncompressed layer (`--compression none`, the build default) is sent
 * uncompressed (not yet compressed for the wire). The manifest is PUT by tag: a Docker schema2
 * manifest when every layer is gzip (docker 20.10 pulls it), else the stored OCI manifest as is.
 */
import { documentBytes, loadImage, type ImageManifest } from '../image/index.js';
import type { Sha256 } from '../hash/index.js';
import { familiarName, type Descriptor, type Reference, type Store } from '../store/index.js';
import { MEDIA_DOCKER_MANIFEST } from './manifest.js';
import { repositoryOf, type RegistryHttp } from './types.js';
import { pushBlob, putManifest, type UploadTarget } from './upload.js';

const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const isGzipLayer = (t: string) => t === 'application/vnd.oci.image.layer.v1.tar+gzip' || t === DOCKER_LAYER_GZIP;

export interface PushResult {
  readonly tag: string;
  readonly digest: Sha256;
  readonly size: number;
  /** Blobs sent (the others the registry had). */
  readonly sent: number;
}

export async function pushImage(http: RegistryHttp, store: Store, ref: Reference, opts: { signal?: AbortSignal } = {}): Promise<PushResult> {
  const name = familiarName(ref);
  const img = await loadImage(store, name);
  const repo = repositoryOf(ref);

  const target: UploadTarget = { http, repo, name, ...(opts.signal ? { signal: opts.signal } : {}) };
  let sent = 0;
  const blob = async (d: Descriptor) => {
    if (await pushBlob(target, d, () => store.openRead(d.digest, d.size) as AsyncIterable<Uint8Array>)) sent++;
  };

  for (const l of img.manifest.layers) await blob(l);
  await blob(img.manifest.config);
  let bytes: Buffer;
  let mediaType: string;
  if (img.manifest.layers.every((l) => isGzipLayer(l.mediaType))) {
    const m = {
      schemaVersion: 2,
      mediaType: MEDIA_DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, digest: img.manifest.config.digest, size: img.manifest.config.size },
      layers: img.manifest.layers.map((l) => ({ mediaType: DOCKER_LAYER_GZIP, digest: l.digest, size: l.size })),
    } as unknown as ImageManifest;
    bytes = Buffer.from(documentBytes(m));
    mediaType = MEDIA_DOCKER_MANIFEST;
  } else {
    bytes = await store.readBytes(img.manifestDescriptor.digest, img.manifestDescriptor.size);
    mediaType = img.manifestDescriptor.mediaType;
  }
  const tag = ref.tag ?? 'latest';
  const digest = await putManifest(target, tag, mediaType, bytes);
  return { tag, digest, size: bytes.length, sent };
}
