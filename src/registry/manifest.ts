/**
 * Manifests and indexes as a registry serves them: read with a size cap (4 MiB, as containerd and
 * distribution limit them; configs 8 MiB), checked against the digest the request named or the
 * registry announced and against our own sha256 of the bytes, parsed into the few fields pull uses.
 */
import { isSha256, sha256Of, type Sha256 } from '../hash/index.js';
import { isIndexType, isManifestType, type Descriptor } from '../store/index.js';
import { formatPlatform, UserError, type Platform } from '../util/index.js';

export const MAX_MANIFEST_BYTES = 4 << 20;
export const MAX_CONFIG_BYTES = 8 << 20;

export const MEDIA_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MEDIA_DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MEDIA_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MANIFEST_ACCEPT = [MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_LIST, MEDIA_OCI_MANIFEST, MEDIA_OCI_INDEX].join(', ');

const LAYER_TYPE = /^application\/vnd\.(oci\.image\.layer\.v1\.tar|docker\.image\.rootfs\.diff\.tar)(\.gzip|\+gzip|\+zstd)?$/;

export interface Fetched {
  readonly bytes: Buffer;
  readonly digest: Sha256;
  readonly mediaType: string;
}

export interface ParsedManifest {
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

const bad = (what: string, why: string) =>
  new UserError('registry.bad-manifest', `${what}: ${why}`, 'the registry served something that is not a valid image; nothing was stored from it');

/** Reads a response body, refusing it as soon as it passes `max` bytes. */
export async function readCapped(res: Response, max: number, what: string): Promise<Buffer> {
  const len = Number(res.headers.get('content-length') ?? NaN);
  if (len > max) {
    await res.body?.cancel();
    throw tooBig(what, max);
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res.body ?? []) {
    n += c.length;
    if (n > max) {
      await res.body?.cancel().catch(() => undefined);
      throw tooBig(what, max);
    }
    parts.push(Buffer.from(c));
  }
  return Buffer.concat(parts);
}

const tooBig = (what: string, max: number) =>
  new UserError('registry.too-large', `${what} is larger than the ${max / (1 << 20)} MiB allowed`, 'the registry serves an oversized document; wharf refuses it rather than read it into memory');

/**
 * Checks a fetched manifest's bytes: they must hash to `expected` when the reference named a
 * digest, and to the Docker-Content-Digest the registry announced when it sent one.
 */
export function checkManifest(bytes: Buffer, what: string, expected: Sha256 | undefined, announced: string | null): Sha256 {
  const actual = sha256Of(bytes);
  if (expected && actual !== expected) throw bad(what, `content hashes to ${actual}, not ${expected}`);
  if (announced && announced !== actual) throw bad(what, `content hashes to ${actual}, but the registry says ${announced}`);
  return actual;
}

function parseObject(bytes: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad(what, 'not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(what, 'not a JSON object');
  return v as Record<string, unknown>;
}

function descriptor(v: unknown, what: string): Descriptor {
  const d = v as Partial<Descriptor> | null;
  if (!d || typeof d !== 'object' || typeof d.mediaType !== 'string' || !isSha256(d.digest ?? "") || !Number.isSafeInteger(d.size) || d.size! < 0) {
    throw bad(what, 'not a descriptor (mediaType, sha256 digest, size)');
  }
  return d as Descriptor;
}

/** The media type a document says it is (its own field, else the Content-Type). */
export function mediaTypeOf(bytes: Buffer, contentType: string | null, what: string): string {
  const t = parseObject(bytes, what).mediaType;
  return typeof t === 'string' ? t : (contentType ?? '').split(';')[0]!.trim();
}

export function parseImageManifest(bytes: Buffer, what: string): ParsedManifest {
  const o = parseObject(bytes, what);
  if (o.schemaVersion !== 2) throw bad(what, 'schemaVersion is not 2 (schema 1 manifests are not supported)');
  const config = descriptor(o.config, `${what} config`);
  if (!Array.isArray(o.layers)) throw bad(what, '"layers" is not a list');
  const layers = o.layers.map((l, i) => descriptor(l, `${what} layers[${i}]`));
  for (const l of layers) if (!LAYER_TYPE.test(l.mediaType)) throw bad(what, `layer ${l.digest} has media type ${l.mediaType}, which is not a layer tar`);
  return { config, layers };
}

/** From an index, the image manifest for `want` (os, architecture and, when given, variant). */
export function pickPlatform(bytes: Buffer, what: string, want: Platform): Descriptor {
  const o = parseObject(bytes, what);
  if (!Array.isArray(o.manifests)) throw bad(what, '"manifests" is not a list');
  const ms = o.manifests.map((m, i) => descriptor(m, `${what} manifests[${i}]`)).filter((m) => isManifestType(m.mediaType) && m.platform);
  const same = ms.filter((m) => m.platform!.os === want.os && m.platform!.architecture === want.architecture);
  const pick = same.find((m) => (m.platform!.variant ?? '') === (want.variant ?? '')) ?? (want.variant ? undefined : same[0]);
  if (pick) return pick;
  const have = ms.map((m) => formatPlatform(m.platform as Platform)).join(', ') || 'none';
  throw new UserError('registry.no-platform', `${what} has no image for ${formatPlatform(want)}; it has: ${have}`, 'pick one of those with --platform');
}

export const isIndex = isIndexType;
export const isManifest = isManifestType;

/** diff_ids from an image config, one per layer. */
export function diffIdsOf(bytes: Buffer, what: string, layers: number): Sha256[] {
  const o = parseObject(bytes, what);
  const ids = (o.rootfs as { diff_ids?: unknown } | undefined)?.diff_ids;
  if (!Array.isArray(ids) || !ids.every((d) => isSha256(d))) throw bad(what, 'rootfs.diff_ids is not a list of sha256 digests');
  if (ids.length !== layers) throw bad(what, `names ${ids.length} diff_ids for ${layers} layers`);
  return ids as Sha256[];
}
