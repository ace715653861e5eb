import { once } from 'node:events';
import { sha256Hex, type Sha256, canonicalJSON } from '../hash/index.js';
import { encodeHeader, endOfArchive, paddingFor } from '../layer/index.js';
import { loadImage, type LoadedImage } from '../image/index.js';
import { familiarName, tagDescriptor, walk, emptyIndex, type OciIndex, type Store } from '../store/index.js';
import { openOutput, type OutputDest } from './output.js';

/** One tar that is at once an OCI image layout and a docker archive, as `docker save` (25+) writes. */
export interface SaveResult {
  readonly images: number;
  readonly blobs: number;
  readonly bytes: number;
}

const MTIME = 0;

/**
 * Writes the named images to `out` (a file path; written to a temp sibling and renamed, so a
 * failed save never leaves half an archive under the final name). Entry order and times are
 * fixed, so saving the same images twice gives the same bytes.
 */
export async function saveImages(store: Store, names: readonly string[], out: OutputDest): Promise<SaveResult> {
  const images: LoadedImage[] = [];
  for (const n of names) images.push(await loadImage(store, n));
  return writeArchive(store, images, out);
}

/** An image to save; without `ref` it is written unnamed (as `docker save <id>` and `build -o type=oci` without -t do). */
export type SaveItem = Pick<LoadedImage, 'target' | 'manifest' | 'id'> & { readonly ref?: LoadedImage['ref'] };

/** Writes images (named or not) to `out`; an unnamed one has no ref annotation and null RepoTags. */
export async function writeArchive(store: Store, images: readonly SaveItem[], out: OutputDest): Promise<SaveResult> {
  const reach = await walk(images.map((i) => i.target), (d) => store.readJSON(d.digest, d.size));
  if (reach.errors.length) throw reach.errors[0]!.error;
  const index: OciIndex = { ...emptyIndex(), manifests: images.map((i) => (i.ref ? tagDescriptor(i.ref, i.target) : i.target)) };
  const dockerManifest = images.map((i) => ({
    Config: `blobs/sha256/${sha256Hex(i.manifest.config.digest)}`,
    RepoTags: i.ref ? [familiarName(i.ref)] : null,
    Layers: i.manifest.layers.map((l) => `blobs/sha256/${sha256Hex(l.digest)}`),
  }));
  const repositories: Record<string, Record<string, string>> = {};
  for (const i of images) {
    if (!i.ref) continue;
    const [repo, tag] = splitTag(familiarName(i.ref));
    (repositories[repo] ??= {})[tag] = sha256Hex(i.id);
  }

  const opened = await openOutput(out);
  const ws = opened.stream;
  let bytes = 0;
  const write = async (b: Buffer): Promise<void> => {
    bytes += b.length;
    if (!ws.write(b)) await once(ws, 'drain');
  };
  const file = async (path: string, data: Buffer): Promise<void> => {
    await write(encodeHeader({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: MTIME }));
    await write(data);
    await write(paddingFor(data.length));
  };
  const dir = (path: string) => write(encodeHeader({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: MTIME }));

  try {
    await dir('blobs');
    await dir('blobs/sha256');
    const digests = [...reach.blobs.keys()].sort();
    for (const d of digests) await blob(store, d, reach.blobs.get(d)!.size, write);
    await file('index.json', Buffer.from(canonicalJSON(index)));
    await file('manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
    await file('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    await file('repositories', Buffer.from(canonicalJSON(repositories)));
    await write(endOfArchive());
    ws.end();
    await once(ws, 'finish');
    await opened.publish();
  } catch (e) {
    ws.destroy();
    await opened.discard();
    throw e;
  }
  return { images: images.length, blobs: reach.blobs.size, bytes };

  async function blob(s: Store, d: Sha256, size: number, w: (b: Buffer) => Promise<void>): Promise<void> {
    await w(encodeHeader({ path: `blobs/sha256/${sha256Hex(d)}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: MTIME }));
    for await (const chunk of s.openRead(d, size)) await w(chunk as Buffer);
    await w(paddingFor(size));
  }
}

function splitTag(name: string): [string, string] {
  const at = name.lastIndexOf(':');
  return at > name.lastIndexOf('/') ? [name.slice(0, at), name.slice(at + 1)] : [name, 'latest'];
}
