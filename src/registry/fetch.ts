/**
 * The Distribution API's read half for callers that are not image pulls (cache imports): one
 * manifest by tag or digest, one blob as bytes or as a stream. Bytes are capped; checking them
 * against their digests is the caller's (it knows what the document is).
 */
import { Readable } from 'node:stream';
import type { Sha256 } from '../hash/index.js';
import type { Descriptor } from '../store/index.js';
import { UserError } from '../util/index.js';
import { readCapped } from './manifest.js';
import { httpError } from './pull.js';
import type { RegistryHttp, Repository } from './types.js';

/** A manifest's bytes, or undefined when the registry has none under `reference` (404). */
export async function fetchManifestBytes(http: RegistryHttp, repo: Repository, reference: string, accept: string, maxBytes: number, what: string): Promise<Buffer | undefined> {
  const res = await http.send(repo, { method: 'GET', path: `manifests/${reference}`, access: 'pull', headers: { Accept: accept } });
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.ok) throw await httpError(res, what, repo.domain);
  return readCapped(res, maxBytes, what);
}

/** A blob's bytes, at most `maxBytes`. */
export async function fetchBlobBytes(http: RegistryHttp, repo: Repository, digest: Sha256, maxBytes: number, what: string): Promise<Buffer> {
  const res = await http.send(repo, { method: 'GET', path: `blobs/${digest}`, access: 'pull' });
  if (!res.ok) throw await httpError(res, what, repo.domain);
  return readCapped(res, maxBytes, what);
}

/** A blob as a stream that fails once it passes the descriptor's size. */
export async function openBlobStream(http: RegistryHttp, repo: Repository, d: Descriptor, what: string): Promise<Readable> {
  const res = await http.send(repo, { method: 'GET', path: `blobs/${d.digest}`, access: 'pull' });
  if (!res.ok) throw await httpError(res, what, repo.domain);
  async function* capped(): AsyncGenerator<Buffer> {
    let n = 0;
    for await (const c of res.body ?? []) {
      n += c.length;
      if (n > d.size) {
        await res.body?.cancel().catch(() => undefined);
        throw new UserError('registry.blob-mismatch', `${what}: the registry sent more than its ${d.size} bytes`);
      }
      yield Buffer.from(c);
    }
  }
  return Readable.from(capped());
}
