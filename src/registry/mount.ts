/**
 * Cross-repository blob mount: asks a registry to link a blob it holds in `from` into the
 * target repository, so a layer that is already there is never downloaded and sent back.
 */
import type { Sha256 } from '../hash/index.js';
import { uploadUrl, type UploadTarget } from './upload.js';
import type { Repository } from './types.js';

/**
 * True when the registry mounted the blob (201). Any other answer (202 starts an ordinary upload
 * instead, as distribution does when it cannot mount) is false, and that upload is cancelled.
 */
export async function mountBlob(t: UploadTarget, digest: Sha256, from: Repository): Promise<boolean> {
  if (from.domain !== t.repo.domain) return false;
  const query = new URLSearchParams({ mount: digest, from: from.path });
  const res = await t.http.send(t.repo, { method: 'POST', path: `blobs/uploads/?${query.toString()}`, access: 'push', alsoPull: [from], ...(t.signal ? { signal: t.signal } : {}) });
  await res.body?.cancel();
  if (res.status === 201) return true;
  const location = res.headers.get('location');
  if (res.status === 202 && location) {
    const del = await t.http.send(t.repo, { method: 'DELETE', path: uploadUrl(location, {}), access: 'push', ...(t.signal ? { signal: t.signal } : {}) }).catch(() => undefined);
    await del?.body?.cancel();
  }
  return false;
}
