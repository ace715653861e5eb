import type { Sha256 } from '../hash/index.js';
import { UserError, hostPlatform, type Platform } from '../util/index.js';
import { familiarName, parseReference, type Reference, isIndexType, isManifestType, type Store, type Descriptor } from '../store/index.js';
import type { ImageConfig, ImageManifest } from './types.js';

/** A stored image, resolved from a name: the manifest actually used and its config. */
export interface LoadedImage {
  readonly ref: Reference;
  /** What the name points at in index.json (a manifest, or an index for multi-platform images). */
  readonly target: Descriptor;
  readonly manifestDescriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  /** Image ID: the config digest. */
  readonly id: Sha256;
}

/** Parses a user-given name, turning a bad one into a UserError. */
export function parseImageName(name: string): Reference {
  const r = parseReference(name);
  if (!r.ok) throw new UserError('image.bad-reference', r.error.message, 'names look like app, app:1, ns/app:1, registry:5000/ns/app:1 or app@sha256:<64 hex>');
  return r.value;
}

/**
 * A name to tag an image with (`build -t`, `tag`'s target, `load -t`, `import`): a digest names
 * content that exists, so `app:1@sha256:…` cannot be a tag, and silently dropping the digest
 * would tag something other than what was asked.
 */
export function parseTagName(name: string, flag: string): Reference {
  const r = parseImageName(name);
  if (r.digest) {
    throw new UserError('image.tag-with-digest', `${flag} ${name}: a tag cannot include a digest`, `drop the @${r.digest.slice(0, 19)}… part, e.g. ${flag} ${name.slice(0, name.indexOf('@'))}`);
  }
  return r;
}

export function notFound(name: string, store: Store): UserError {
  return new UserError('image.not-found', `image ${name} not found in ${store.root}`, 'build it or `wharf import`/`wharf load` it');
}

/** Loads an image by name (`app:1`, `app@sha256:…`); an index resolves to `platform`'s manifest. */
export async function loadImage(store: Store, name: string, platform: Platform = hostPlatform()): Promise<LoadedImage> {
  const ref = parseImageName(name);
  const target = await store.resolve(ref);
  if (!target) throw notFound(familiarName(ref), store);
  return loadDescriptor(store, ref, target, platform);
}

export async function loadDescriptor(store: Store, ref: Reference, target: Descriptor, platform: Platform = hostPlatform()): Promise<LoadedImage> {
  let desc = target;
  if (isIndexType(desc.mediaType)) {
    const index = await store.readJSON<{ manifests?: Descriptor[] }>(desc.digest, desc.size);
    const ms = (index.manifests ?? []).filter((m) => isManifestType(m.mediaType));
    const pick =
      ms.find((m) => m.platform?.os === platform.os && m.platform.architecture === platform.architecture) ??
      ms.find((m) => !m.platform) ??
      ms[0];
    if (!pick) throw new UserError('image.no-manifest', `image ${familiarName(ref)} has no manifest for ${platform.os}/${platform.architecture}`);
    desc = pick;
  }
  if (!isManifestType(desc.mediaType)) {
    throw new UserError('image.unsupported', `image ${familiarName(ref)} has media type ${desc.mediaType}, which is not an image manifest`);
  }
  const manifest = await store.readJSON<ImageManifest>(desc.digest, desc.size);
  const config = await store.readJSON<ImageConfig>(manifest.config.digest, manifest.config.size);
  return { ref, target, manifestDescriptor: desc, manifest, config, id: manifest.config.digest };
}

/** Bytes of the image's blobs (compressed layers + config), what `wharf images` shows as SIZE. */
export function imageSize(img: LoadedImage): number {
  return img.manifest.layers.reduce((n, l) => n + l.size, 0) + img.manifest.config.size;
}
