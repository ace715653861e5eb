// type=registry cache ends: the cache manifest under a tag of a repository, its config and layers
// as that repository's blobs. Blobs the repository has are not sent again.
import { Readable } from 'node:stream';
import { MAX_CACHE_MANIFEST_BYTES, OCI_MANIFEST_MEDIA_TYPE } from '../cache/index.js';
import { parseImageName } from '../image/index.js';
import { fetchBlobBytes, fetchManifestBytes, hasBlob, mountBlob, openBlobStream, pushBlob, putManifest, repositoryOf, type RegistryHttp, type UploadTarget } from '../registry/index.js';
import { familiarName, type Reference } from '../store/index.js';
import { isUserError, UserError } from '../util/index.js';
import type { CacheDestIo, CacheSourceIo } from './cache-io.js';

const DOCKER_MANIFEST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';

function cacheRef(ref: string, option: string): Reference {
  try {
    const r = parseImageName(ref);
    return r.tag || r.digest ? r : { ...r, tag: 'latest' };
  } catch (e) {
    if (!isUserError(e)) throw e;
    throw new UserError('build.bad-cache-spec', `${option} ref=${ref}: ${e.message}`, `write it as ${option} type=registry,ref=127.0.0.1:5000/app:cache`);
  }
}

export function registryCacheSource(http: RegistryHttp, refText: string, name: string): CacheSourceIo {
  const ref = cacheRef(refText, '--cache-from');
  const repo = repositoryOf(ref);
  return {
    name,
    repository: repo,
    // A docker schema2 image manifest too: an image pushed with inline cache records.
    manifest: () => fetchManifestBytes(http, repo, ref.digest ?? ref.tag!, `${OCI_MANIFEST_MEDIA_TYPE}, ${DOCKER_MANIFEST_MEDIA_TYPE}`, MAX_CACHE_MANIFEST_BYTES, `${name}: manifest`),
    readBlob: (d, maxBytes) => {
      if (d.size > maxBytes) throw new UserError('cache.too-large', `${name}: blob ${d.digest} is ${d.size} bytes, more than the ${maxBytes} allowed`);
      return fetchBlobBytes(http, repo, d.digest, maxBytes, `${name}: blob ${d.digest}`);
    },
    openBlob: (d) => openBlobStream(http, repo, d, `${name}: layer ${d.digest}`),
  };
}

export function registryCacheDest(http: RegistryHttp, refText: string, name: string): CacheDestIo {
  const ref = cacheRef(refText, '--cache-to');
  if (!ref.tag) throw new UserError('build.bad-cache-spec', `--cache-to ${name}: give a tag, not a digest`, 'write it as --cache-to type=registry,ref=127.0.0.1:5000/app:cache');
  const target: UploadTarget = { http, repo: repositoryOf(ref), name: familiarName(ref) };
  return {
    name,
    hasBlob: (d) => hasBlob(target, d.digest),
    mountBlob: (d, from) => mountBlob(target, d.digest, from),
    // The caller has just HEADed it (hasBlob): no second HEAD before the upload.
    writeBlob: async (d, open) => {
      await pushBlob(target, d, () => open(), { absent: true });
    },
    async writeManifest(e) {
      await pushBlob(target, e.configDescriptor, () => Readable.from([e.config]));
      await putManifest(target, ref.tag!, OCI_MANIFEST_MEDIA_TYPE, e.manifest);
    },
  };
}
