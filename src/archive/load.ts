import { createReadStream } from 'node:fs';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSha256, type Sha256 } from '../hash/digest.js';
import { applyLayer, writeLayerFromTar } from '../layer/index.js';
import { documentBytes, MEDIA_TYPE_CONFIG, MEDIA_TYPE_MANIFEST, type ImageConfig, type ImageManifest } from '../image/index.js';
import { familiarName, parseReference, tagOf, walk, type Descriptor, type Lease, type OciIndex, type Reference, type Store } from '../store/index.js';
import { UserError } from '../util/user-error.js';

export interface LoadedEntry {
  readonly name: string;
  readonly digest: Sha256;
}

const bad = (input: string, why: string): UserError =>
  new UserError('load.bad-archive', `${input}: ${why}`, 'give an archive written by `wharf save`, `docker save` or `skopeo copy` (oci-archive: or docker-archive:), or an OCI layout directory');

/**
 * Loads images from a docker archive (`manifest.json`, including the old `<id>/layer.tar` form),
 * an OCI archive or an OCI layout directory. Archives are first unpacked into a private temp dir by
 * the safe applier, so a hostile archive cannot write outside it.
 * `name` tags an image the archive leaves unnamed.
 */
export async function loadArchive(store: Store, input: string, name?: Reference): Promise<LoadedEntry[]> {
  const st = await stat(input).catch(() => undefined);
  if (!st) throw new UserError('load.no-input', `${input}: no such file or directory`, 'pass the archive with -i FILE');
  const tmp = st.isDirectory() ? undefined : await store.tempDir('load');
  const lease = await store.lease();
  try {
    if (tmp) await applyLayer(createReadStream(input), tmp, { form: 'plain' });
    const dir = tmp ?? input;
    if (await isFile(join(dir, 'oci-layout')) && await isFile(join(dir, 'index.json'))) return await loadLayout(store, lease, dir, input, name);
    if (await isFile(join(dir, 'manifest.json'))) return await loadDockerArchive(store, lease, dir, input, name);
    throw bad(input, 'neither an OCI layout (oci-layout, index.json) nor a docker archive (manifest.json)');
  } finally {
    await lease.release();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

async function loadLayout(store: Store, lease: Lease, dir: string, input: string, name?: Reference): Promise<LoadedEntry[]> {
  const index = await readJSONFile<OciIndex>(join(dir, 'index.json'), input);
  const blobDir = join(dir, 'blobs', 'sha256');
  for (const hex of await readdir(blobDir).catch(() => [] as string[])) {
    const digest = `sha256:${hex}`;
    if (!isSha256(digest)) continue;
    // putStream verifies the content against its name: a corrupt archive fails here.
    await lease.blobs.putStream(createReadStream(join(blobDir, hex)), digest);
  }
  const reach = await walk(index.manifests ?? [], (d) => store.readJSON(d.digest, d.size));
  if (reach.errors.length) throw bad(input, `blob ${reach.errors[0]!.digest} is missing or unreadable`);
  for (const d of reach.blobs.keys()) if (!(await store.has(d))) throw bad(input, `blob ${d} is missing`);
  const out: LoadedEntry[] = [];
  for (const m of index.manifests ?? []) {
    const ref = tagOf(m)?.ref ?? name;
    if (!ref) throw bad(input, `image ${m.digest} has no name`);
    const target: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.size, ...(m.platform ? { platform: m.platform } : {}) };
    await store.setTag(ref, target);
    out.push({ name: familiarName(ref), digest: m.digest });
  }
  return out;
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function loadDockerArchive(store: Store, lease: Lease, dir: string, input: string, name?: Reference): Promise<LoadedEntry[]> {
  const entries = await readJSONFile<DockerManifestEntry[]>(join(dir, 'manifest.json'), input);
  if (!Array.isArray(entries)) throw bad(input, 'manifest.json is not a list');
  const out: LoadedEntry[] = [];
  for (const e of entries) {
    const configBytes = await readFile(inside(dir, e.Config, input));
    const config = JSON.parse(configBytes.toString()) as ImageConfig;
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== e.Layers.length) throw bad(input, `${e.Config} lists ${diffIds.length} diff_ids but the archive has ${e.Layers.length} layers`);
    const layers: Descriptor[] = [];
    for (const [i, path] of e.Layers.entries()) layers.push(await storeLayer(lease, inside(dir, path, input), diffIds[i]!, input));
    const c = await lease.blobs.putBytes(configBytes);
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MEDIA_TYPE_MANIFEST, config: { mediaType: MEDIA_TYPE_CONFIG, digest: c.digest, size: c.size }, layers };
    const m = await lease.blobs.putBytes(documentBytes(manifest));
    const target: Descriptor = { mediaType: MEDIA_TYPE_MANIFEST, digest: m.digest, size: m.size };
    const refs = (e.RepoTags ?? []).map((t) => parseName(t, input));
    if (!refs.length && name) refs.push(name);
    if (!refs.length) throw bad(input, `image ${c.digest} has no RepoTags; name it with -t NAME`);
    for (const r of refs) {
      await store.setTag(r, target);
      out.push({ name: familiarName(r), digest: m.digest });
    }
  }
  return out;
}

/** Stores a docker-archive layer (plain or compressed) as a gzip blob, checking its diff_id. */
async function storeLayer(lease: Lease, file: string, expected: string, input: string): Promise<Descriptor> {
  const layer = await writeLayerFromTar(createReadStream(file), 'gzip', lease.blobs);
  if (layer.diffId !== expected) throw bad(input, `layer ${file.slice(file.lastIndexOf('/', file.lastIndexOf('/') - 1) + 1)} does not match its diff_id ${expected}`);
  return { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
}

/** A path named inside the archive, which must stay inside it. */
function inside(dir: string, rel: string, input: string): string {
  if (typeof rel !== 'string' || rel.startsWith('/') || rel.split('/').includes('..')) throw bad(input, `path ${JSON.stringify(rel)} leaves the archive`);
  return join(dir, rel);
}

function parseName(t: string, input: string): Reference {
  const r = parseReference(t);
  if (!r.ok) throw bad(input, `RepoTag ${JSON.stringify(t)} is not a valid image name: ${r.error.message}`);
  return r.value;
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

async function readJSONFile<T>(p: string, input: string): Promise<T> {
  try {
    return JSON.parse(await readFile(p, 'utf8')) as T;
  } catch (e) {
    throw bad(input, `${p.slice(p.lastIndexOf('/') + 1)} is not valid JSON (${(e as Error).message})`);
  }
}
