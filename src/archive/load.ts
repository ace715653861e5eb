import type { Readable } from 'node:stream';
import { rm, stat } from 'node:fs/promises';
import type { Sha256 } from '../hash/index.js';
import { verifyLayer, writeLayerFromTar } from '../layer/index.js';
import { documentBytes, MEDIA_TYPE_CONFIG, MEDIA_TYPE_MANIFEST, type ImageManifest } from '../image/index.js';
import { type Platform, openRegularFile, UserError } from '../util/index.js';
import type { LayerRef } from '../snapshot/index.js';
import { familiarName, parseReference, type Lease, type Reference, type Store } from '../store/index.js';
import { diffIdsOf, listOf, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, parseJSON, parseObject, isObject } from './load-checks.js';
import { planLayout } from './load-oci.js';
import type { LoadPlan } from './load-plan.js';
import { badArchive, extractMembers, layoutMembers, type ArchiveMembers } from './members.js';

export interface LoadedEntry {
  readonly name: string;
  readonly digest: Sha256;
}

export interface LoadOptions {
  /** Tags an image the archive leaves unnamed. */
  readonly name?: Reference;
  /**
   * Called for every image manifest once its blobs are stored and before anything is tagged
   * (the CLI unpacks the layers into snapshots, which checks them once more); a throw refuses
   * the whole load.
   */
  readonly prepare?: (layers: readonly LayerRef[], platform?: Platform) => Promise<void>;
}

/**
 * Loads images from a docker archive (`manifest.json`, including the old `<id>/layer.tar` form),
 * an OCI archive or an OCI layout directory. Everything is verified before anything is stored:
 * members are regular files inside the archive (members.ts), documents have their shape and
 * size limits, blobs their digests and layers their diff_ids and safe entry paths; nothing is
 * tagged unless all of it holds.
 */
/** An archive file or OCI layout directory, or a stream (stdin) named for messages. */
export type LoadInput = string | { readonly stream: Readable; readonly name: string };

export async function loadArchive(store: Store, from: LoadInput, opts: LoadOptions = {}): Promise<LoadedEntry[]> {
  const input = typeof from === 'string' ? from : from.name;
  const st = typeof from === 'string' ? await stat(from).catch(() => undefined) : undefined;
  if (typeof from === 'string' && !st) throw new UserError('load.no-input', `${input}: no such file or directory`, 'pass the archive with -i FILE');
  const tmp = st?.isDirectory() ? undefined : await store.tempDir('load');
  const lease = await store.lease();
  try {
    let members: ArchiveMembers;
    if (typeof from !== 'string') members = await extractMembers(from.stream, tmp!, input);
    else if (tmp) {
      const fh = await openRegularFile(input, { maxBytes: Number.MAX_SAFE_INTEGER, what: input });
      members = await extractMembers(fh.createReadStream(), tmp, input);
    } else members = layoutMembers(input, input);
    let plan: LoadPlan;
    if ((await members.has('oci-layout')) && (await members.has('index.json'))) plan = await planLayout(members, input, lease, opts.name);
    else if (await members.has('manifest.json')) plan = await planDocker(members, input, lease, opts.name);
    else throw badArchive(input, 'neither an OCI layout (oci-layout, index.json) nor a docker archive (manifest.json)');
    await plan.store();
    for (const i of plan.images) await opts.prepare?.(i.layers, i.platform);
    const out: LoadedEntry[] = [];
    for (const t of plan.tags) {
      await store.setTag(t.ref, t.target);
      out.push({ name: familiarName(t.ref), digest: t.target.digest });
    }
    return out;
  } finally {
    await lease.release();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

interface DockerImage {
  readonly configBytes: Buffer;
  readonly layers: { readonly path: string; readonly diffId: Sha256 }[];
  readonly refs: Reference[];
}

async function planDocker(m: ArchiveMembers, input: string, lease: Lease, name?: Reference): Promise<LoadPlan> {
  const entries = listOf(parseJSON(await m.read('manifest.json', MAX_MANIFEST_BYTES), 'manifest.json', input), 'manifest.json', input);
  const checked: DockerImage[] = [];
  for (const [i, e] of entries.entries()) {
    const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
    if (!isObject(e) || typeof e.Config !== 'string' || !strings(e.Layers) || !(e.RepoTags == null || strings(e.RepoTags))) {
      throw badArchive(input, `manifest.json entry ${i} is malformed (Config must be a path, Layers a list of paths, RepoTags a list of names or null)`);
    }
    const configBytes = await m.read(e.Config, MAX_CONFIG_BYTES);
    const paths = e.Layers as string[];
    const diffIds = diffIdsOf(parseObject(configBytes, e.Config, input), e.Config, input, paths.length);
    for (const [j, path] of paths.entries()) await verifyLayer(await m.open(path), diffIds[j]!, `${input}: layer ${path}`);
    const refs = ((e.RepoTags as string[] | null | undefined) ?? []).map((t) => parseName(t, input));
    if (!refs.length && name) refs.push(name);
    if (!refs.length) throw badArchive(input, `image ${e.Config} has no RepoTags; name it with -t NAME`);
    checked.push({ configBytes, layers: paths.map((path, j) => ({ path, diffId: diffIds[j]! })), refs });
  }
  const images: LoadPlan['images'][number][] = [];
  const tags: LoadPlan['tags'][number][] = [];
  return {
    images, tags,
    async store() {
      for (const img of checked) {
        const layers: LayerRef[] = [];
        for (const l of img.layers) {
          // Stored as a gzip blob; the diff_id is checked again before the blob is committed.
          const r = await writeLayerFromTar(await m.open(l.path), 'gzip', lease.blobs, { diffId: l.diffId, what: `${input}: layer ${l.path}` });
          layers.push({ descriptor: { mediaType: r.mediaType, digest: r.digest, size: r.size }, diffId: l.diffId });
        }
        const c = await lease.blobs.putBytes(img.configBytes);
        const manifest: ImageManifest = { schemaVersion: 2, mediaType: MEDIA_TYPE_MANIFEST, config: { mediaType: MEDIA_TYPE_CONFIG, digest: c.digest, size: c.size }, layers: layers.map((l) => l.descriptor) };
        const mb = await lease.blobs.putBytes(documentBytes(manifest));
        images.push({ layers });
        for (const ref of img.refs) tags.push({ ref, target: { mediaType: MEDIA_TYPE_MANIFEST, digest: mb.digest, size: mb.size } });
      }
    },
  };
}

export function parseName(t: string, input: string): Reference {
  const r = parseReference(t);
  if (!r.ok) throw badArchive(input, `RepoTag ${JSON.stringify(t)} is not a valid image name: ${r.error.message}`);
  return r.value;
}
