/**
 * `openStore(root)`: the image-management half of the library, what `wharf images/inspect/tag/
 * rmi/save/load/prune` and the server's image endpoints do. Names resolve as docker resolves
 * them: a tag, else an image ID (or a prefix of one) when no tag has that name.
 */
import { sha256Hex, type Sha256 } from '../hash/index.js';
import { familiarName, familiarRepository, type Reference, type Store, type TagEntry } from '../store/index.js';
import { hostPlatform, UserError } from '../util/index.js';
import { REPO_DIGEST_ANNOTATION, historyRows, imageSize, inspectView, loadDescriptor, loadImage, notFound, parseImageName, parseTagName, type LoadedImage } from '../image/index.js';
import { importRootfs, loadArchive, saveImages, type LoadInput, type OutputDest } from '../archive/index.js';
import { openSnapshots } from '../snapshot/index.js';
import { openApiStore } from './open-store.js';
import { pruneStreamedContexts } from './build-input.js';
import { fsckStore, type FsckResult } from './fsck.js';

export interface ImageEntry {
  readonly ref: Reference;
  readonly name: string;
  /** The manifest's digest, and the registry's `repo@digest` when the image was pulled. */
  readonly digest: string;
  readonly repoDigest: string | undefined;
  readonly image: LoadedImage;
  readonly size: number;
}

export interface ImageStore {
  readonly root: string;
  readonly store: Store;
  /** Every tagged image (or those the filter selects), newest first; `warnings` names the ones that could not be read. */
  images(filter?: ImageFilter): Promise<{ entries: ImageEntry[]; warnings: string[] }>;
  /** The image a name or ID (prefix) names, and its tags. */
  find(name: string): Promise<{ image: LoadedImage; tags: TagEntry[] }>;
  /** docker inspect's view of the image. */
  inspect(name: string): Promise<Record<string, unknown>>;
  history(name: string): Promise<{ image: LoadedImage; rows: ReturnType<typeof historyRows> }>;
  tag(source: string, target: string): Promise<void>;
  /** Removes a tag (or an image ID's only tag; all of them with force); returns the names removed. */
  rmi(name: string, force?: boolean): Promise<Reference[]>;
  /**
   * docker's image delete (`wharf rmi`, `DELETE /images/{name}`): rmi, then the blobs no longer
   * referenced are collected; `deleted` has the image's ID when no name is left on it and it is gone.
   */
  remove(name: string, opts?: { readonly force?: boolean }): Promise<RemoveResult>;
  /** Writes one archive to a path, or to a stream the caller owns (`{ stream, name }`, never ended). */
  save(names: readonly string[], file: OutputDest): Promise<{ images: number; blobs: number; bytes: number }>;
  /**
   * A one-layer image from a rootfs tarball, tagged `name`, as `docker import`; its layer is unpacked
   * now (best effort) as load does. Returns the image ID.
   */
  import(file: string, name: string, opts?: ImportOptions): Promise<Sha256>;
  /** Loads a docker or OCI archive (a file, a directory or `{ stream, name }`); returns the names it tagged. */
  load(file: LoadInput, tag?: string): Promise<string[]>;
  /**
   * Unreferenced blobs and snapshots, dead temp files, and the kept dirs of streamed build contexts
   * not in use; with options, first build cache records (by age, then by size) and afterwards the
   * cache mounts no running build uses.
   */
  prune(opts?: PruneOptions): Promise<PruneResult>;
  /** Every referenced blob and every snapshot checked; unreferenced blobs listed with what keeps them. */
  fsck(): Promise<FsckResult>;
}

/** docker's `images --filter`: every key given must match; the patterns of one key are alternatives. */
export interface ImageFilter {
  /** Go path.Match patterns (`app`, `app:*`, `lib/app:1?`) against `repo:tag` and against the repository alone. */
  readonly reference?: readonly string[];
  /** true: only names without a tag (`<none>`, as a pull by digest leaves them); false: only tagged ones. */
  readonly dangling?: boolean;
}

export interface ImportOptions {
  /** Layer compression; gzip by default. */
  readonly compression?: 'gzip' | 'zstd';
  /** Image and history timestamps (SOURCE_DATE_EPOCH, seconds). */
  readonly sourceDateEpoch?: number;
}

export interface PruneOptions {
  /** Forget build cache records older than this many ms (docker's `until=`; parseDuration reads `24h`). */
  readonly untilMs?: number;
  /** Then forget the oldest records until the cache alone keeps at most this many bytes (docker's keep-storage). */
  readonly keepStorageBytes?: number;
  /** Also delete RUN --mount=type=cache directories no running build uses. */
  readonly cacheMounts?: boolean;
}

export interface RemoveResult {
  readonly untagged: readonly Reference[];
  /** The image IDs removed (none while another name still has the image). */
  readonly deleted: readonly string[];
  /** What the blob collection freed, and what it skipped (unreadable records). */
  readonly blobsRemoved: number;
  readonly bytesReclaimed: number;
  readonly warnings: readonly string[];
}

export interface PruneResult {
  /** Build cache records forgotten (0 unless untilMs or keepStorageBytes was given). */
  readonly cacheRecordsForgotten: number;
  readonly blobsRemoved: number;
  /** Bytes the blob GC freed (cache mounts' bytes are in cacheMounts.bytesFreed). */
  readonly bytesReclaimed: number;
  readonly tempRemoved: number;
  readonly contextsRemoved: number;
  /** Present when cacheMounts was asked for: the mounts removed, their bytes, and how many were kept in use. */
  readonly cacheMounts?: { readonly removed: readonly string[]; readonly bytesFreed: number; readonly inUse: number };
  readonly warnings: readonly string[];
}

export async function openStore(root: string): Promise<ImageStore> {
  const store = await openApiStore(root);
  return imageStore(root, store);
}

export function imageStore(root: string, store: Store): ImageStore {
  const rmi = async (name: string, force = false): Promise<Reference[]> => {
    const refs = await refsToRemove(store, name, force);
    for (const ref of refs) await store.removeTag(ref);
    return refs;
  };
  return {
    root,
    store,
    async images(filter = {}) {
      const entries: ImageEntry[] = [];
      const warnings: string[] = [];
      const keep = imageFilter(filter);
      for (const t of await store.tags()) {
        if (!keep(t.ref)) continue;
        try {
          const image = await loadDescriptor(store, t.ref, t.descriptor);
          entries.push({ ref: t.ref, name: familiarName(t.ref), digest: t.descriptor.digest, repoDigest: t.descriptor.annotations?.[REPO_DIGEST_ANNOTATION], image, size: imageSize(image) });
        } catch (e) {
          // One damaged image should not hide the others; fsck says more.
          warnings.push(`${familiarName(t.ref)}: ${(e as Error).message} (run \`wharf fsck\`)`);
        }
      }
      entries.sort((a, b) => (b.image.config.created ?? '').localeCompare(a.image.config.created ?? '') || a.name.localeCompare(b.name));
      return { entries, warnings };
    },
    find: (name) => findImage(store, name),
    async inspect(name) {
      const { image, tags } = await findImage(store, name);
      const digests = tags.flatMap((t) => t.descriptor.annotations?.[REPO_DIGEST_ANNOTATION] ?? []);
      return inspectView(image, tags.map((t) => familiarName(t.ref)), digests);
    },
    async history(name) {
      const { image } = await findImage(store, name);
      return { image, rows: historyRows(image) };
    },
    async tag(source, target) {
      const to = parseTagName(target, 'tag SOURCE');
      const { image } = await findImage(store, source);
      await store.setTag(to, image.target);
    },
    rmi,
    async remove(name, opts = {}) {
      const { image } = await findImage(store, name);
      const untagged = await rmi(name, opts.force === true);
      const gc = await store.gc();
      const gone = !(await store.has(image.target.digest)) && !(await tagsOf(store, await store.tags(), image.id)).length;
      return { untagged, deleted: gone ? [image.id] : [], blobsRemoved: gc.blobsRemoved, bytesReclaimed: gc.bytesReclaimed, warnings: gc.warnings };
    },
    save: (names, file) => saveImages(store, names, file),
    async import(file, name, opts = {}) {
      const compression = opts.compression ?? 'gzip';
      if (compression !== 'gzip' && compression !== 'zstd') {
        throw new UserError('import.bad-compression', `compression ${String(compression)} is not supported`, 'use gzip or zstd');
      }
      const ref = parseTagName(name, 'import FILE');
      const img = await importRootfs(store, file, ref, { compression, ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}) });
      await unpackLayers(root, store, img.manifest.layers.map((descriptor, i) => ({ descriptor, diffId: img.config.rootfs.diff_ids[i]! })));
      return img.id;
    },
    async load(file, tag) {
      const name = tag ? parseTagName(tag, '-t') : undefined;
      const snapshots = openSnapshots(root, store);
      const host = hostPlatform();
      const loaded = await loadArchive(store, file, {
        ...(name ? { name } : {}),
        // Unpacked before anything is tagged, as `docker load` extracts layers into its storage
        // driver: a layer the applier refuses refuses the load. What only this host cannot do
        // (device nodes without root) is left for first use.
        async prepare(layers, platform) {
          if (platform && (platform.os !== host.os || platform.architecture !== host.architecture)) return;
          await snapshots.prepare(layers).catch((e: unknown) => {
            if (e instanceof UserError && REFUSED.has(e.code)) throw e;
          });
        },
      });
      return loaded.map((e) => e.name);
    },
    async prune(opts = {}) {
      let cacheRecordsForgotten = 0;
      if (opts.untilMs !== undefined || opts.keepStorageBytes !== undefined) {
        const { pruneCache } = await import('./cache-prune.js');
        const forgotten = await pruneCache(store, root, { ...(opts.untilMs !== undefined ? { untilMs: opts.untilMs } : {}), ...(opts.keepStorageBytes !== undefined ? { keepBytes: opts.keepStorageBytes } : {}) });
        cacheRecordsForgotten = forgotten.length;
      }
      const gc = await store.gc();
      const contextsRemoved = await pruneStreamedContexts(store.root);
      const result = { cacheRecordsForgotten, blobsRemoved: gc.blobsRemoved, bytesReclaimed: gc.bytesReclaimed, tempRemoved: gc.tempRemoved, contextsRemoved, warnings: gc.warnings };
      if (!opts.cacheMounts) return result;
      // The ops module brings the build planner with it; only this option needs it.
      const { pruneCacheMounts } = await import('../ops/index.js');
      const cm = await pruneCacheMounts(store);
      return { ...result, cacheMounts: { removed: cm.removed, bytesFreed: cm.bytesFreed, inUse: cm.inUse } };
    },
    fsck: () => fsckStore(store, root),
  };
}

function imageFilter({ reference = [], dangling }: ImageFilter): (ref: Reference) => boolean {
  return (ref) => {
    if (dangling !== undefined && (ref.tag === undefined) !== dangling) return false;
    if (!reference.length) return true;
    const repo = familiarRepository(ref);
    const names = [repo, ref.tag ? `${repo}:${ref.tag}` : repo];
    return reference.some((p) => names.some((n) => pathMatch(p, n)));
  };
}

/** Go's path.Match for the patterns reference= takes: `*` and `?` stop at `/`, `[...]` classes. */
function pathMatch(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`).test(name);
}

/**
 * Unpacks an imported image's layers into snapshots now, as `docker import` extracts into its
 * storage driver, so the first build or run on it starts at once. Best effort: a layer that cannot
 * be unpacked here (whiteouts need root) is unpacked when first used.
 */
async function unpackLayers(root: string, store: Store, layers: Parameters<ReturnType<typeof openSnapshots>['prepare']>[0]): Promise<void> {
  await openSnapshots(root, store).prepare(layers).catch(() => undefined);
}

/** Applier errors that say the layer itself is bad, not that this host cannot unpack it. */
const REFUSED = new Set(['layer.unsafe-entry', 'layer.diff-id-mismatch', 'layer.bad-archive', 'layer.invalid-whiteout', 'layer.not-a-directory', 'store.digest-mismatch']);

const shortId = (id: Sha256): string => sha256Hex(id).slice(0, 12);

/** A name, or an image ID (prefix) when no tag has that name — as docker resolves them. */
export async function findImage(store: Store, name: string): Promise<{ image: LoadedImage; tags: TagEntry[] }> {
  const idPrefix = /^(?:sha256:)?([0-9a-f]{4,64})$/.exec(name)?.[1];
  const all = await store.tags();
  if (!idPrefix || (await store.resolve(parseImageName(name)))) {
    const image = await loadImage(store, name);
    return { image, tags: await tagsOf(store, all, image.id) };
  }
  const matches = new Map<Sha256, LoadedImage>();
  for (const t of all) {
    const img = await loadDescriptor(store, t.ref, t.descriptor);
    if (sha256Hex(img.id).startsWith(idPrefix)) matches.set(img.id, img);
  }
  if (matches.size > 1) throw new UserError('image.ambiguous-id', `image ID prefix ${name} matches ${matches.size} images`, 'give more digits of the ID');
  const image = [...matches.values()][0];
  if (!image) throw notFound(name, store);
  return { image, tags: await tagsOf(store, all, image.id) };
}

async function tagsOf(store: Store, all: TagEntry[], id: Sha256): Promise<TagEntry[]> {
  const out: TagEntry[] = [];
  for (const t of all) if ((await loadDescriptor(store, t.ref, t.descriptor).catch(() => undefined))?.id === id) out.push(t);
  return out;
}

/** A tag removes itself; an image ID removes its only tag, or all of them with force (as docker). */
export async function refsToRemove(store: Store, name: string, force: boolean): Promise<TagEntry['ref'][]> {
  const ref = parseImageName(name);
  if (!ref.digest && (await store.resolve(ref))) return [ref];
  const { image, tags } = await findImage(store, name);
  if (tags.length > 1 && !force) {
    throw new UserError('image.rmi-conflict', `unable to delete ${shortId(image.id)}: it is tagged ${tags.map((t) => familiarName(t.ref)).join(', ')}`, 'remove the tags by name, or pass --force to remove them all');
  }
  return tags.map((t) => t.ref);
}
