/**
 * Push: a stored image → a registry. Each blob is HEADed first and sent only when the registry
 * lacks it (POST uploads/, then one monolithic PUT ?digest=). Layers go as they are stored: gzip and
 * zstd blobs as they are; an uncompressed layer (`--compression none`, the build default) is sent
 * uncompressed (not yet compressed for the wire). The manifest is PUT by tag: a Docker schema2
 * manifest when every layer is gzip (docker 20.10 pulls it), else the stored OCI manifest as is.
 */
import { documentBytes, loadImage, type ImageManifest } from '../image/index.js';
import { sha256Of, type Sha256 } from '../hash/index.js';
import { familiarName, type Descriptor, type Reference, type Store } from '../store/index.js';
import { UserError } from '../util/index.js';
import { httpError } from './pull.js';
import { MEDIA_DOCKER_MANIFEST } from './manifest.js';
import { repositoryOf, type RegistryHttp } from './types.js';

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
  const send = (method: 'HEAD' | 'POST' | 'PUT', path: string, extra: { headers?: Record<string, string>; body?: Uint8Array | (() => AsyncIterable<Uint8Array>) } = {}) =>
    http.send(repo, { method, path, access: 'push', ...extra, ...(opts.signal ? { signal: opts.signal } : {}) });

  let sent = 0;
  async function blob(d: Descriptor): Promise<void> {
    const head = await send('HEAD', `blobs/${d.digest}`);
    if (head.ok) return;
    const start = await send('POST', 'blobs/uploads/');
    if (start.status !== 202) throw await httpError(start, `starting the upload of ${d.digest} to ${name}`, ref.domain);
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (!location) throw new UserError('registry.bad-answer', `registry ${ref.domain} started an upload without a Location`);
    // Registries answer with absolute Locations, or with a path the client sends to the same
    // endpoint (whichever scheme it found there); the digest is added to its query either way.
    const absolute = /^https?:\/\//.test(location);
    const url = new URL(location, 'http://registry.invalid');
    url.searchParams.set('digest', d.digest);
    const put = await send('PUT', absolute ? url.href : `${url.pathname}${url.search}`, {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: () => store.openRead(d.digest, d.size) as AsyncIterable<Uint8Array>,
    });
    if (put.status !== 201) throw await httpError(put, `uploading ${d.digest} to ${name}`, ref.domain);
    await put.body?.cancel();
    sent++;
  }

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
  const put = await send('PUT', `manifests/${tag}`, { headers: { 'Content-Type': mediaType }, body: bytes });
  if (put.status !== 201) throw await httpError(put, `putting the manifest of ${name}`, ref.domain);
  await put.body?.cancel();
  return { tag, digest: sha256Of(bytes), size: bytes.length, sent };
}
