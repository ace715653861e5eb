/**
 * Loading an OCI layout (archive or directory): from index.json down, every document is read with
 * its size limit and checked against its descriptor's digest and size, and every image layer
 * streamed once to check its blob digest, its diff_id and its entries, before any blob is stored.
 */
import type { Readable } from 'node:stream';
import { sha256Hex, sha256Of, type Sha256 } from '../hash/index.js';
import { HashTap, tapped, verifyLayer } from '../layer/index.js';
import type { Platform } from '../image/index.js';
import type { LayerRef } from '../snapshot/index.js';
import { isIndexType, isManifestType, tagOf, type Descriptor, type Reference } from '../store/index.js';
import { descriptorOf, diffIdsOf, listOf, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, parseObject } from './load-checks.js';
import type { LoadPlan } from './load.js';
import { badArchive, type ArchiveMembers } from './members.js';

const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
const isLayerTar = (t: string): boolean => /^application\/vnd\.(oci\.image\.layer\.v1\.tar|docker\.image\.rootfs\.(foreign\.)?diff\.tar)/.test(t);
const MAX_DEPTH = 8;

export async function planLayout(m: ArchiveMembers, input: string, name?: Reference): Promise<LoadPlan> {
  const index = parseObject(await m.read('index.json', MAX_MANIFEST_BYTES), 'index.json', input);
  const tops = listOf(index.manifests, 'index.json "manifests"', input).map((d, i) => descriptorOf(d, `index.json manifests[${i}]`, input));
  const blobs = new Set<Sha256>();
  const images: LoadPlan['images'][number][] = [];
  const member = (d: Descriptor) => `blobs/sha256/${sha256Hex(d.digest)}`;

  async function document(d: Descriptor, max: number, what: string) {
    if (d.size > max) throw badArchive(input, `${what} ${d.digest} is ${d.size} bytes, more than the ${max} allowed`);
    const bytes = await m.read(member(d), max);
    if (bytes.length !== d.size || sha256Of(bytes) !== d.digest) throw badArchive(input, `${what} ${d.digest} does not match its descriptor (digest or size)`);
    blobs.add(d.digest);
    return parseObject(bytes, `${what} ${d.digest}`, input);
  }

  /** Streams a blob to check digest and size; a layer also gets its diff_id and entries checked. */
  async function streamed(d: Descriptor, diffId: Sha256 | undefined, what: string): Promise<void> {
    if (blobs.has(d.digest) && !diffId) return;
    const raw = tapped(await m.open(member(d)));
    if (diffId) await verifyLayer(raw, diffId, what);
    else for await (const _ of raw as Readable) void _;
    const { hash } = raw as HashTap;
    if (hash.size !== d.size || hash.digest() !== d.digest) throw badArchive(input, `${what} does not match its descriptor (digest ${d.digest}, size ${d.size})`);
    blobs.add(d.digest);
  }

  async function visit(d: Descriptor, depth: number, platform?: Platform): Promise<void> {
    if (depth > MAX_DEPTH) throw badArchive(input, `indexes nest deeper than ${MAX_DEPTH} levels`);
    if (isIndexType(d.mediaType)) {
      const idx = await document(d, MAX_MANIFEST_BYTES, 'index');
      const kids = listOf(idx.manifests, `index ${d.digest} "manifests"`, input);
      for (const [i, k] of kids.entries()) {
        const kd = descriptorOf(k, `index ${d.digest} manifests[${i}]`, input);
        await visit(kd, depth + 1, kd.platform as Platform | undefined);
      }
    } else if (isManifestType(d.mediaType)) {
      const man = await document(d, MAX_MANIFEST_BYTES, 'manifest');
      const config = descriptorOf(man.config, `manifest ${d.digest} config`, input);
      const layers = listOf(man.layers, `manifest ${d.digest} "layers"`, input).map((l, i) => descriptorOf(l, `manifest ${d.digest} layers[${i}]`, input));
      const cfg = await document(config, MAX_CONFIG_BYTES, 'config');
      if (!IMAGE_CONFIG_TYPES.has(config.mediaType)) {
        // Not an image (an artifact): its blobs are only checked against their digests.
        for (const l of layers) await streamed(l, undefined, `blob ${l.digest}`);
        return;
      }
      const diffIds = diffIdsOf(cfg, `config ${config.digest}`, input, layers.length);
      const refs: LayerRef[] = [];
      for (const [i, l] of layers.entries()) {
        if (isLayerTar(l.mediaType)) await streamed(l, diffIds[i]!, `${input}: layer ${l.digest}`);
        else await streamed(l, undefined, `blob ${l.digest}`);
        refs.push({ descriptor: l, diffId: diffIds[i]! });
      }
      if (layers.every((l) => isLayerTar(l.mediaType))) images.push({ layers: refs, ...(platform ? { platform } : {}) });
    } else {
      await streamed(d, undefined, `blob ${d.digest}`);
    }
  }

  const tags: LoadPlan['tags'][number][] = [];
  for (const d of tops) {
    const ref = tagOf(d)?.ref ?? name;
    if (!ref) throw badArchive(input, `image ${d.digest} has no name; name it with -t NAME`);
    await visit(d, 0, d.platform as Platform | undefined);
    tags.push({ ref, target: { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.platform ? { platform: d.platform } : {}) } });
  }
  return {
    images, tags,
    async store(lease) {
      // Each blob was checked above; putStream checks its digest once more as it writes.
      for (const digest of [...blobs].sort()) await lease.blobs.putStream(await m.open(`blobs/sha256/${sha256Hex(digest)}`), digest);
    },
  };
}
