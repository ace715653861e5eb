/**
 * The Distribution API's write half, for anything that pushes (images, cache exports): a blob is
 * HEADed first and sent only when the repository lacks it; a manifest (or index, or artifact) is
 * PUT by tag or digest. Callers say what to send; auth, retries and timeouts are the RegistryHttp's.
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

function send(t: UploadTarget, method: RegistryRequest['method'], path: string, extra: { headers?: Record<string, string>; body?: Body } = {}) {
  return t.http.send(t.repo, { method, path, access: 'push', ...extra, ...(t.signal ? { signal: t.signal } : {}) });
}

/** True when the repository already has the blob. */
export async function hasBlob(t: UploadTarget, digest: Sha256): Promise<boolean> {
  const head = await send(t, 'HEAD', `blobs/${digest}`);
  await head.body?.cancel();
  return head.ok;
}

/**
 * Sends a blob unless the repository has it (POST uploads/, then one monolithic PUT ?digest=).
 * `open` gives the bytes afresh for each attempt. Resolves true when the blob was sent.
 */
export async function pushBlob(t: UploadTarget, d: Descriptor, open: () => AsyncIterable<Uint8Array>): Promise<boolean> {
  if (await hasBlob(t, d.digest)) return false;
  const start = await send(t, 'POST', 'blobs/uploads/');
  if (start.status !== 202) throw await httpError(start, `starting the upload of ${d.digest} to ${t.name}`, t.repo.domain);
  await start.body?.cancel();
  const location = start.headers.get('location');
  if (!location) throw new UserError('registry.bad-answer', `registry ${t.repo.domain} started an upload without a Location`);
  const put = await send(t, 'PUT', uploadUrl(location, { digest: d.digest }), {
    headers: { 'Content-Type': 'application/octet-stream' },
    body: open,
  });
  if (put.status !== 201) throw await httpError(put, `uploading ${d.digest} to ${t.name}`, t.repo.domain);
  await put.body?.cancel();
  return true;
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
