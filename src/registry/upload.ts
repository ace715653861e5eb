/**
 * The Distribution API's write half, for anything that pushes (images, cache exports): a blob is
 * HEADed first and sent only when the repository lacks it; a manifest (or index, or artifact) is
 * PUT by tag or digest. Blobs may be mounted from another repository of the registry and uploaded
 * in chunks. Callers say what to send; auth, retries and timeouts are the RegistryHttp's.
 */
import { sha256Of, type Sha256 } from '../hash/index.js';
import type { Descriptor } from '../store/index.js';
import { UserError } from '../util/index.js';
import { httpError } from './pull.js';
import type { RegistryHttp, RegistryRequest, Repository } from './types.js';

export interface UploadTarget {
  readonly http: RegistryHttp;
  readonly repo: Repository;
  /** For messages: `127.0.0.1:5000/app`. */
  readonly name: string;
  readonly signal?: AbortSignal;
}

type Body = RegistryRequest['body'];

function send(t: UploadTarget, method: RegistryRequest['method'], path: string, extra: { headers?: Record<string, string>; body?: Body; alsoPull?: RegistryRequest['alsoPull'] } = {}) {
  return t.http.send(t.repo, { method, path, access: 'push', ...extra, ...(t.signal ? { signal: t.signal } : {}) });
}

/** True when the repository already has the blob. */
export async function hasBlob(t: UploadTarget, digest: Sha256): Promise<boolean> {
  const head = await send(t, 'HEAD', `blobs/${digest}`);
  await head.body?.cancel();
  return head.ok;
}

/** How one blob reached the repository. */
export type BlobOutcome = 'exists' | 'mounted' | 'pushed';

export interface SendBlobOptions {
  /**
   * Other repositories on the same registry that hold the blob: the first is asked for a
   * cross-repository mount (`POST uploads/?mount=&from=`) before anything is uploaded.
   */
  readonly mountFrom?: readonly string[];
  /**
   * Upload in PATCH requests of this many bytes (Content-Range), then PUT ?digest=, when the blob
   * is larger; otherwise (and by default) one monolithic PUT.
   */
  readonly chunkSize?: number;
  /**
   * Where chunked uploads are remembered between runs: after each accepted PATCH its Location is
   * saved, and a rerun asks the registry (GET on it) how many bytes it holds and sends the rest.
   */
  readonly sessions?: UploadSessions;
  /** The caller has just found the blob missing (its own HEAD): upload without asking again. */
  readonly absent?: boolean;
}

export interface UploadSessions {
  load(): Promise<string | undefined>;
  /** undefined: the upload finished (or cannot be resumed); forget it. */
  save(location: string | undefined): Promise<void>;
}

/**
 * Sends a blob unless the repository has it (POST uploads/, then one monolithic PUT ?digest=).
 * `open` gives the bytes afresh for each attempt. Resolves true when the blob was sent (or mounted).
 */
export async function pushBlob(t: UploadTarget, d: Descriptor, open: () => AsyncIterable<Uint8Array>, opts: SendBlobOptions = {}): Promise<boolean> {
  return (await sendBlob(t, d, open, opts)) !== 'exists';
}

/** As pushBlob, saying how: already there, mounted from another repository, or uploaded. */
export async function sendBlob(t: UploadTarget, d: Descriptor, open: () => AsyncIterable<Uint8Array>, opts: SendBlobOptions = {}): Promise<BlobOutcome> {
  if (!opts.absent && (await hasBlob(t, d.digest))) return 'exists';
  let start: Response | undefined;
  const from = opts.mountFrom?.find((p) => p !== t.repo.path);
  if (from) {
    const q = new URLSearchParams({ mount: d.digest, from });
    start = await send(t, 'POST', `blobs/uploads/?${q}`, { alsoPull: [{ domain: t.repo.domain, path: from }] });
    if (start.status === 201) {
      await start.body?.cancel();
      return 'mounted';
    }
    // 202: the registry could not mount (or will not) and opened an upload session instead.
    if (start.status !== 202) {
      await start.body?.cancel();
      start = undefined;
    }
  }
  const chunked = opts.chunkSize !== undefined && d.size > opts.chunkSize;
  const resumed = chunked && !start && opts.sessions ? await resumeAt(t, opts.sessions, d) : undefined;
  let last: string | undefined;
  if (resumed) {
    last = await patchChunks(t, d, resumed.location, open, opts.chunkSize!, resumed.offset, opts.sessions).catch(async () => {
      // The registry would not take the rest there (the session expired, an offset it disagrees
      // with): the whole blob again, in a new session.
      await opts.sessions!.save(undefined);
      return undefined;
    });
  }
  let location: string | undefined;
  if (last === undefined) {
    location = await sessionLocation(t, start ?? (await send(t, 'POST', 'blobs/uploads/')), d.digest);
    if (chunked) last = await patchChunks(t, d, location, open, opts.chunkSize!, 0, opts.sessions);
  }
  const put = await send(t, 'PUT', uploadUrl(last ?? location!, { digest: d.digest }), {
    headers: { 'Content-Type': 'application/octet-stream' },
    body: chunked ? new Uint8Array(0) : open,
  });
  if (put.status !== 201) throw await httpError(put, `uploading ${d.digest} to ${t.name}`, t.repo.domain);
  await put.body?.cancel();
  if (chunked) await opts.sessions?.save(undefined);
  return 'pushed';
}

async function sessionLocation(t: UploadTarget, start: Response, what: string): Promise<string> {
  if (start.status !== 202) throw await httpError(start, `starting the upload of ${what} to ${t.name}`, t.repo.domain);
  await start.body?.cancel();
  const location = start.headers.get('location');
  if (!location) throw new UserError('registry.bad-answer', `registry ${t.repo.domain} started an upload without a Location`);
  return location;
}

/**
 * Uploads bytes whose digest is known only once they have all been made (a layer compressed as it
 * is sent, as docker does): one streamed PATCH, then PUT ?digest= with what `digest` resolves to.
 * The stream is read once, so a failed attempt is not retried here: the caller sends the stored
 * copy the ordinary way instead.
 */
export async function streamBlob(t: UploadTarget, what: string, bytes: AsyncIterable<Uint8Array>, digest: () => Promise<Sha256>): Promise<Sha256> {
  const location = await sessionLocation(t, await send(t, 'POST', 'blobs/uploads/'), what);
  let used = false;
  const body = () => {
    if (used) throw new Error(`the streamed upload of ${what} cannot be sent again`);
    used = true;
    return bytes;
  };
  const res = await send(t, 'PATCH', location, { headers: { 'Content-Type': 'application/octet-stream' }, body });
  if (res.status !== 202) throw await httpError(res, `uploading ${what} to ${t.name}`, t.repo.domain);
  await res.body?.cancel();
  const d = await digest();
  const put = await send(t, 'PUT', uploadUrl(res.headers.get('location') ?? location, { digest: d }), { headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(0) });
  if (put.status !== 201) throw await httpError(put, `uploading ${d} to ${t.name}`, t.repo.domain);
  await put.body?.cancel();
  return d;
}

/**
 * Where a recorded upload of `d` stands: the registry's Range (`0-N`, N+1 bytes held) answered to
 * a GET on its Location. undefined (and the record forgotten) when there is none to continue.
 */
async function resumeAt(t: UploadTarget, sessions: UploadSessions, d: Descriptor): Promise<{ location: string; offset: number } | undefined> {
  const saved = await sessions.load();
  if (!saved) return undefined;
  const res = await send(t, 'GET', saved).catch(() => undefined);
  await res?.body?.cancel().catch(() => undefined);
  const m = /^0-(\d+)$/.exec(res?.headers.get('range') ?? '');
  // "0-0" is also what an empty session says: nothing worth continuing from.
  const offset = m ? Number(m[1]) + 1 : 0;
  if (res?.status !== 204 || offset <= 1 || offset >= d.size) {
    await sessions.save(undefined);
    return undefined;
  }
  return { location: res.headers.get('location') ?? saved, offset };
}

/**
 * PATCHes the blob in `size`-byte chunks from byte `from` (the bytes before it are read and
 * skipped: the registry has them); resolves with the Location to finish the upload at. Each
 * accepted PATCH's Location is saved in `sessions`.
 */
async function patchChunks(t: UploadTarget, d: Descriptor, location: string, open: () => AsyncIterable<Uint8Array>, size: number, from: number, sessions?: UploadSessions): Promise<string> {
  let at = from;
  let skip = from;
  let loc = location;
  const patch = async (chunk: Uint8Array) => {
    const res = await send(t, 'PATCH', loc, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${at}-${at + chunk.length - 1}` },
      body: chunk,
    });
    if (res.status !== 202) throw await httpError(res, `uploading bytes ${at}-${at + chunk.length - 1} of ${d.digest} to ${t.name}`, t.repo.domain);
    await res.body?.cancel();
    loc = res.headers.get('location') ?? loc;
    at += chunk.length;
    await sessions?.save(loc);
  };
  let parts: Buffer[] = [];
  let held = 0;
  for await (const c of open()) {
    let b = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    if (skip) {
      // Read all the same: the stored blob's digest is checked over every byte.
      const n = Math.min(skip, b.length);
      skip -= n;
      b = b.subarray(n);
    }
    while (held + b.length >= size) {
      const take = size - held;
      await patch(Buffer.concat([...parts, b.subarray(0, take)]));
      b = b.subarray(take);
      parts = [];
      held = 0;
    }
    if (b.length) {
      parts.push(Buffer.from(b));
      held += b.length;
    }
  }
  if (held) await patch(Buffer.concat(parts));
  if (at !== d.size) throw new UserError('registry.bad-blob', `blob ${d.digest} has ${at} bytes, its descriptor says ${d.size}`, 'run `wharf fsck`');
  return loc;
}

/**
 * Registries answer with absolute Locations, or with a path the client sends to the same endpoint
 * (whichever scheme it found there); `query` is added to the Location's own query either way.
 */
export function uploadUrl(location: string, query: Record<string, string>): string {
  const absolute = /^https?:\/\//.test(location);
  const url = new URL(location, 'http://registry.invalid');
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return absolute ? url.href : `${url.pathname}${url.search}`;
}

/** PUTs a manifest (or index) under `reference` (a tag or a digest); resolves with its digest. */
export async function putManifest(t: UploadTarget, reference: string, mediaType: string, bytes: Uint8Array): Promise<Sha256> {
  const put = await send(t, 'PUT', `manifests/${reference}`, { headers: { 'Content-Type': mediaType }, body: bytes });
  if (put.status !== 201) throw await httpError(put, `putting the manifest ${reference} of ${t.name}`, t.repo.domain);
  await put.body?.cancel();
  return sha256Of(bytes);
}
