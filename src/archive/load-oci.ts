/**
 * Loading an OCI layout (archive or directory): from index.json down, every document is read with
 * its size limit and checked against its descriptor's digest and size, and every blob streamed
 * once into an uncommitted blob writer while its digest (and, for a layer, its diff_id and
 * entries) are checked. Only when everything holds are the writers committed; otherwise they are
 * aborted, so a refused archive leaves nothing in the store.
 */
import { sha256Hex, sha256Of, type Sha256 } from '../hash/index.js';
import { copyVerifiedLayer, tapped, verifyLayer } from '../layer/index.js';
import type { Platform } from '../util/index.js';
import type { LayerRef } from '../snapshot/index.js';
import { isIndexType, isManifestType, tagOf, type BlobWriter, type Descriptor, type Lease, type Reference } from '../store/index.js';
import { descriptorOf, diffIdsOf, listOf, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, parseObject } from './load-checks.js';
import type { LoadPlan } from './load-plan.js';
import { badArchive, type ArchiveMembers } from './members.js';

const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
const isLayerTar = (t: string): boolean => /^application\/vnd\.(oci\.image\.layer\.v1\.tar|docker\.image\.rootfs\.(foreign\.)?diff\.tar)/.test(t);
const MAX_DEPTH = 8;

export async function planLayout(m: ArchiveMembers, input: string, lease: Lease, name?: Reference): Promise<LoadPlan> {
  /** Checked blobs, not yet in the store: documents in memory, the rest in open writers. */
  const docs = new Map<Sha256, Buffer>();
  const writers = new Map<Sha256, BlobWriter>();
  /** The diff_id each layer blob was checked against. */
  const verified = new Map<Sha256, string>();
  try {
    return await plan();
  } catch (e) {
    for (const w of writers.values()) await w.abort();
    throw e;
  }

  async function plan(): Promise<LoadPlan> {
    const index = parseObject(await m.read('index.json', MAX_MANIFEST_BYTES), 'index.json', input);
    const tops = listOf(index.manifests, 'index.json "manifests"', input).map((d, i) => descriptorOf(d, `index.json manifests[${i}]`, input));
    const images: LoadPlan['images'][number][] = [];
    const member = (d: Descriptor) => `blobs/sha256/${sha256Hex(d.digest)}`;

    async function document(d: Descriptor, max: number, what: string) {
      if (d.size > max) throw badArchive(input, `${what} ${d.digest} is ${d.size} bytes, more than the ${max} allowed`);
      const bytes = await m.read(member(d), max);
      if (bytes.length !== d.size || sha256Of(bytes) !== d.digest) throw badArchive(input, `${what} ${d.digest} does not match its descriptor (digest or size)`);
      docs.set(d.digest, bytes);
      return parseObject(bytes, `${what} ${d.digest}`, input);
    }

    /** Streams a blob to check digest and size; a layer also gets its diff_id and entries checked. */
    async function streamed(d: Descriptor, diffId: Sha256 | undefined, what: string): Promise<void> {
      if (docs.has(d.digest) || writers.has(d.digest)) {
        // Already checked against its digest; named as a layer with a diff_id not yet checked
        // against it (a second image's claim), it is checked again.
        if (diffId && verified.get(d.digest) !== diffId) await verifyLayer(await m.open(member(d)), diffId, what);
        return;
      }
      const w = await lease.blobs.writer();
      writers.set(d.digest, w);
      const raw = tapped(await m.open(member(d)));
      const sink = (c: Buffer) => w.write(c);
      if (diffId) await copyVerifiedLayer(raw, diffId, what, sink);
      else for await (const c of raw as AsyncIterable<Buffer>) await sink(c);
      if (raw.size !== d.size || (await raw.digest()) !== d.digest) throw badArchive(input, `${what} does not match its descriptor (digest ${d.digest}, size ${d.size})`);
      if (diffId) verified.set(d.digest, diffId);
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
      async store() {
        try {
          for (const [digest, bytes] of docs) await lease.blobs.putBytes(bytes, digest);
          for (const [digest, w] of writers) await w.commit(digest);
        } finally {
          for (const w of writers.values()) await w.abort(); // no-op once committed
        }
      },
    };
  }
}
