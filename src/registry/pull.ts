/**
 * Pull: a reference → a tagged image in the store, with its layers unpacked into snapshots.
 *
 * Nothing unverified becomes visible: manifests and the config are read with a size cap and
 * checked against their digests in memory; a layer streams into an uncommitted blob writer while
 * its digest, size and (uncompressed) diff_id are checked, and is committed only when all hold.
 * The config and manifest are stored and the tag set only after every layer is in. A refused or
 * interrupted pull can leave verified layer blobs (and their snapshots) behind, unreferenced until
 * a rerun uses them (they are what lets a rerun skip them) or GC removes them; never a half blob.
 *
 * The manifest digest the registry knows the image by (the index's when the tag names one) is
 * recorded on the tag entry as the annotation REPO_DIGEST_ANNOTATION (`<repository>@<digest>`),
 * which `inspect` shows as RepoDigests.
 */
import { Readable } from 'node:stream';
import { sha256Hex, type Sha256 } from '../hash/index.js';
import { REPO_DIGEST_ANNOTATION } from '../image/index.js';
import { copyVerifiedLayer } from '../layer/index.js';
import type { LayerRef, SnapshotStore, StagedSnapshot } from '../snapshot/index.js';
import { familiarName, familiarRepository, type Descriptor, type Lease, type Reference, type Store } from '../store/index.js';
import { hostPlatform, isUserError, limiter, sayNoSpace, UserError, type Platform } from '../util/index.js';
import { checkManifest, diffIdsOf, isIndex, isManifest, MANIFEST_ACCEPT, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, mediaTypeOf, parseImageManifest, pickPlatform, readCapped } from './manifest.js';
import { repositoryOf, type RegistryHttp, type Repository } from './types.js';
import { recordPulledBlob } from './wire.js';

/** Bytes of a download gathered before they go on to the blob writer and the unpacker. */
const GATHER_BYTES = 1 << 20;

/** Layers downloaded at once, as docker does. */
const LAYER_CONCURRENCY = 3;

export type PullEvent =
  | { readonly type: 'resolved'; readonly name: string; readonly digest: Sha256 }
  | { readonly type: 'layer'; readonly digest: Sha256; readonly state: 'waiting' | 'exists' | 'downloading' | 'verified'; readonly bytes: number; readonly total: number };

export interface PullOptions {
  /** From an index, this platform's image (default: the host's). */
  readonly platform?: Platform;
  /** Layers are unpacked here as they arrive, so a build can start on them at once. */
  readonly snapshots?: SnapshotStore;
  readonly onEvent?: (e: PullEvent) => void;
  readonly signal?: AbortSignal;
}

export interface PullResult {
  /** The manifest tagged (the platform's, when the reference names an index). */
  readonly manifest: Descriptor;
  /** `<familiar repository>@<digest>`: what the registry calls the image (RepoDigests). */
  readonly repoDigest: string;
  readonly configDigest: Sha256;
  /** Layer blobs downloaded (not already in the store). */
  readonly downloaded: number;
}

export async function pullImage(http: RegistryHttp, store: Store, ref: Reference, opts: PullOptions = {}): Promise<PullResult> {
  const repo = repositoryOf(ref);
  const name = familiarName(ref);
  const emit = opts.onEvent ?? (() => undefined);
  const get = (path: string, headers?: Record<string, string>) =>
    http.send(repo, { method: 'GET', path, access: 'pull', ...(headers ? { headers } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });

  async function manifestAt(at: string, expected: Sha256 | undefined, what: string) {
    const res = await get(`manifests/${at}`, { Accept: MANIFEST_ACCEPT });
    if (res.status === 404) {
      await res.body?.cancel();
      throw new UserError('registry.manifest-unknown', `manifest unknown: ${name}`, `check the name and tag; the registry ${ref.domain} has no such image`);
    }
    if (!res.ok) throw await httpError(res, what, ref.domain);
    const bytes = await readCapped(res, MAX_MANIFEST_BYTES, what);
    const digest = checkManifest(bytes, what, expected, res.headers.get('docker-content-digest'));
    return { bytes, digest, mediaType: mediaTypeOf(bytes, res.headers.get('content-type'), what) };
  }

  const top = await manifestAt(ref.digest ?? ref.tag ?? 'latest', ref.digest as Sha256 | undefined, `manifest ${name}`);
  emit({ type: 'resolved', name, digest: top.digest });
  let man = top;
  let index: typeof top | undefined;
  if (isIndex(top.mediaType)) {
    index = top;
    const pick = pickPlatform(top.bytes, `image ${name}`, opts.platform ?? hostPlatform());
    if (pick.size > MAX_MANIFEST_BYTES) throw new UserError('registry.too-large', `manifest ${pick.digest} of ${name} is larger than the 4 MiB allowed`);
    man = await manifestAt(pick.digest, pick.digest, `manifest ${pick.digest} of ${name}`);
  }
  if (!isManifest(man.mediaType)) throw new UserError('registry.unsupported', `${name} is a ${man.mediaType || 'document of unknown type'}, not an image manifest`, 'only Docker schema2 and OCI images can be pulled');
  const parsed = parseImageManifest(man.bytes, `manifest ${man.digest}`);

  const cfgWhat = `config ${parsed.config.digest} of ${name}`;
  if (parsed.config.size > MAX_CONFIG_BYTES) throw new UserError('registry.too-large', `${cfgWhat} is ${parsed.config.size} bytes, larger than the 8 MiB allowed`);
  const configBytes = (await store.has(parsed.config.digest)) ? await store.readBytes(parsed.config.digest, parsed.config.size) : await fetchConfig(parsed.config, cfgWhat);
  const diffIds = diffIdsOf(configBytes, cfgWhat, parsed.layers.length);
  const refs: LayerRef[] = parsed.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i]! }));

  const lease = await store.lease();
  try {
    const limit = limiter(LAYER_CONCURRENCY);
    let downloaded = 0;
    // Every layer is announced first, so a progress view can lay out one line per layer.
    for (const l of refs) emit({ type: 'layer', digest: l.descriptor.digest, state: 'waiting', bytes: 0, total: l.descriptor.size });
    const arrived = refs.map((l, i) =>
      limit(async () => {
        if (await fetchLayer(lease, l, refs.slice(0, i + 1))) downloaded++;
      }),
    );
    // A downloaded layer was unpacked as it arrived; one the store had is unpacked here, in order
    // (prepare also unpacks any parent missing). A failure anywhere stops all.
    const unpacked = (async () => {
      for (let i = 0; i < refs.length; i++) {
        await arrived[i];
        await opts.snapshots?.prepare(refs.slice(0, i + 1));
      }
    })();
    await Promise.all([...arrived, unpacked]);
    await lease.blobs.putBytes(configBytes, parsed.config.digest);
    if (index) await lease.blobs.putBytes(index.bytes, index.digest);
    await lease.blobs.putBytes(man.bytes, man.digest);
    const repoDigest = `${familiarRepository(ref)}@${top.digest}`;
    const manifest: Descriptor = { mediaType: man.mediaType, digest: man.digest, size: man.bytes.length, annotations: { [REPO_DIGEST_ANNOTATION]: repoDigest } };
    if (ref.tag) await store.setTag({ domain: ref.domain, path: ref.path, tag: ref.tag }, manifest);
    return { manifest, repoDigest, configDigest: parsed.config.digest, downloaded };
  } finally {
    await lease.release();
  }

  async function fetchConfig(d: Descriptor, what: string): Promise<Buffer> {
    const res = await get(`blobs/${d.digest}`);
    if (!res.ok) throw await httpError(res, what, ref.domain);
    const bytes = await readCapped(res, MAX_CONFIG_BYTES, what);
    checkManifest(bytes, what, d.digest, null);
    if (bytes.length !== d.size) throw new UserError('registry.bad-blob', `${what} is ${bytes.length} bytes, not the ${d.size} its manifest says`);
    return bytes;
  }

  /**
   * Downloads one layer blob, verified, into the store; false when the store already had it. With
   * a snapshot store, the layer is unpacked in the same pass into a private dir, installed as the
   * snapshot of `stack` only once the blob's digest and size and the tar's diff_id all held.
   */
  async function fetchLayer(lease: Lease, l: LayerRef, stack: readonly LayerRef[]): Promise<boolean> {
    const d = l.descriptor;
    if (await store.has(d.digest)) {
      await lease.add(d.digest);
      emit({ type: 'layer', digest: d.digest, state: 'exists', bytes: d.size, total: d.size });
      return false;
    }
    const what = `layer ${d.digest} of ${name}`;
    for (let attempt = 0; ; attempt++) {
      const rw = await lease.blobs.resumableWriter?.(d.digest);
      const w = rw ?? (await lease.blobs.writer());
      // The second attempt (after a refusal) starts from nothing.
      let kept = attempt === 0 ? (rw?.offset ?? 0) : 0;
      if (rw && rw.offset !== kept) await rw.restart();
      let stop: 'kept' | 'discarded' = 'kept';
      let staged: StagedSnapshot | undefined;
      try {
        let res = await get(`blobs/${d.digest}`, kept ? { Range: `bytes=${kept}-` } : undefined);
        if (kept && !(res.status === 206 && contentRangeFrom(res) === kept)) {
          // The registry cannot continue from there (200: it ignores Range): the whole blob again.
          await res.body?.cancel().catch(() => undefined);
          await rw?.restart();
          kept = 0;
          res = await get(`blobs/${d.digest}`);
        }
        if (!res.ok) throw await httpError(res, what, ref.domain);
        staged = await opts.snapshots?.stage(stack);
        const net = (res.body ?? []) as AsyncIterable<Uint8Array>;
        const body = kept && rw ? concat(rw.readKept(), net) : net;
        const size = { n: 0 };
        const raw = Readable.from(counted(res, body, d, what, size), { objectMode: false, highWaterMark: 1 << 20 });
        // Digest, size and diff_id are checked over the whole blob, kept bytes included; the blob
        // writer hashes what it is given (on the thread pool), and commit() checks that digest.
        await copyVerifiedLayer(raw, l.diffId, what, (c) => w.write(c), staged?.fs).catch((e: unknown) => {
          if (!isUserError(e) || NOT_THE_BLOBS_FAULT.has(e.code)) throw sayNoSpace(e, `unpacking ${what}`, store.root);
          throw e.code === 'registry.blob-mismatch' ? e : refused(what, e.message.startsWith(`${what}: `) ? e.message.slice(what.length + 2) : e.message);
        });
        if (size.n !== d.size) throw refused(what, `the registry sent ${size.n} bytes, not ${d.size}`);
        await w.commit(d.digest).catch((e: unknown) => {
          if (!isUserError(e) || e.code !== 'store.digest-mismatch') throw e;
          throw refused(what, `the bytes hash to ${/hashes to (sha256:[0-9a-f]{64})/.exec(e.message)?.[1] ?? 'another digest'} (${size.n} bytes)`);
        });
        await staged?.install();
        await recordPulledBlob(store, d.digest, repo);
        emit({ type: 'layer', digest: d.digest, state: 'verified', bytes: d.size, total: d.size });
        return true;
      } catch (e) {
        if (isUserError(e) && e.code === 'registry.blob-mismatch') {
          stop = 'discarded';
          // Bytes kept from an earlier run may be what was wrong: one more try, from the start.
          if (kept) continue;
        }
        throw e;
      } finally {
        await staged?.discard();
        // Interrupted (Ctrl-C, a dropped connection): keep the bytes for a rerun; refused: drop them.
        if (stop === 'kept' && rw) await rw.keepForResume();
        else await w.abort();
      }
    }
  }

  /** The body, refused once it passes the descriptor's size; reports progress. */
  async function* counted(res: Response, body: AsyncIterable<Uint8Array>, d: Descriptor, what: string, size: { n: number }): AsyncGenerator<Buffer> {
    let n = 0;
    let last = 0;
    let parts: Buffer[] = [];
    let held = 0;
    const take = () => {
      const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
      parts = [];
      held = 0;
      return out;
    };
    for await (const c of body) {
      n += c.length;
      size.n = n;
      if (n > d.size) {
        await res.body?.cancel().catch(() => undefined);
        throw refused(what, `the registry sent more than its ${d.size} bytes`);
      }
      if (n - last >= 1 << 20 || n === d.size) {
        last = n;
        emit({ type: 'layer', digest: d.digest, state: 'downloading', bytes: n, total: d.size });
      }
      // Socket-sized chunks (~64 KiB) are gathered into ~1 MiB ones: each chunk costs a hash
      // round trip on the thread pool in the blob writer and a hop through every stream after it.
      parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      held += c.length;
      if (held >= GATHER_BYTES) yield take();
    }
    if (held) yield take();
  }
}

/** Where a 206 answer starts (`Content-Range: bytes N-M/T`), undefined when it does not say. */
function contentRangeFrom(res: Response): number | undefined {
  const m = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : undefined;
}

async function* concat(...parts: AsyncIterable<Uint8Array>[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield* p;
}

/**
 * Errors of unpacking that say nothing about the blob (mknod without root, a missing tool, a
 * system call refused by the file system); reported as they are, and the bytes are kept.
 */
const NOT_THE_BLOBS_FAULT = new Set(['layer.mknod', 'layer.tool-missing', 'layer.apply']);

const refused = (what: string, why: string) =>
  new UserError('registry.blob-mismatch', `${what} failed verification: ${why}`, 'the registry (or something between it and wharf) served damaged content; nothing from it was stored');

export async function httpError(res: Response, what: string, host: string): Promise<UserError> {
  const text = (await res.text().catch(() => '')).slice(0, 300);
  let detail = text;
  try {
    const errs = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
    if (errs.length) detail = errs.map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ');
  } catch {
    /* not JSON: the text as it is */
  }
  return new UserError('registry.http', `${what}: registry ${host} answered ${res.status}${detail ? `: ${detail}` : ''}`);
}

export const shortId = (d: Sha256): string => sha256Hex(d).slice(0, 12);
export type { Repository };
