/**
 * Where a cache export is read from and written to: an OCI image layout directory (type=local)
 * or a registry repository (type=registry, cache-registry.ts). Both only move bytes; what the
 * bytes mean, and their digests, is checked by the caller (cache-exchange.ts).
 *
 * A local layout holds the cache manifest in index.json under the ref name `cache`, beside any
 * other manifests (an export replaces only that entry). Everything read from the directory is
 * opened without following symlinks and must be a regular file of bounded size.
 */
import { createReadStream } from 'node:fs';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CACHE_REF_ANNOTATION, MAX_CACHE_MANIFEST_BYTES, type EncodedCacheExport } from '../cache/index.js';
import { isSha256, sha256Hex, sha256Of } from '../hash/index.js';
import type { Descriptor } from '../store/index.js';
import type { Repository } from '../registry/index.js';
import { atomicWriteFile, openRegularFile, readRegularFile, tempSibling, UserError } from '../util/index.js';

export const LOCAL_CACHE_REF = 'cache';
const MAX_INDEX_BYTES = 4 << 20;

export interface CacheSourceIo {
  /** For messages: `type=local,src=DIR`, `type=registry,ref=…`. */
  readonly name: string;
  /** The cache manifest's bytes, or undefined when the source has none yet (a first CI run). */
  manifest(): Promise<Uint8Array | undefined>;
  /** A blob's bytes, at most `maxBytes` (not yet verified). */
  readBlob(d: Descriptor, maxBytes: number): Promise<Uint8Array>;
  /** A blob as a stream (not yet verified). */
  openBlob(d: Descriptor): Promise<Readable>;
  /** A registry source's repository: a destination on the same registry can mount its blobs. */
  readonly repository?: Repository;
}

export interface CacheDestIo {
  readonly name: string;
  hasBlob(d: Descriptor): Promise<boolean>;
  /**
   * Writes a blob the caller has verified and found absent with hasBlob (`open` gives its bytes
   * afresh on each call).
   */
  writeBlob(d: Descriptor, open: () => Readable): Promise<void>;
  /** Links a blob from another repository of the same registry; false when it cannot. */
  mountBlob?(d: Descriptor, from: Repository): Promise<boolean>;
  /** Publishes the export (config and layers are written by then). */
  writeManifest(e: EncodedCacheExport): Promise<void>;
}

interface OciIndexJson {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

const blobPath = (dir: string, d: Descriptor) => join(dir, 'blobs', 'sha256', sha256Hex(d.digest));

/** A directory (not a symlink to one) or undefined when absent; anything else is refused. */
async function realDir(path: string, what: string): Promise<boolean> {
  const st = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (!st) return false;
  if (!st.isDirectory()) throw new UserError('cache.not-a-directory', `${what} ${path} is not a directory${st.isSymbolicLink() ? ' (a symlink)' : ''}`, 'give the path of the OCI layout directory itself');
  return true;
}

export function localCacheSource(dir: string, name: string): CacheSourceIo {
  const blobsReady = async () => (await realDir(join(dir, 'blobs'), name)) && (await realDir(join(dir, 'blobs', 'sha256'), name));
  return {
    name,
    async manifest() {
      if (!(await realDir(dir, name))) return undefined;
      let raw: Buffer;
      try {
        raw = await readRegularFile(join(dir, 'index.json'), { maxBytes: MAX_INDEX_BYTES, what: `${name}: index.json` });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
      let index: OciIndexJson;
      try {
        index = JSON.parse(raw.toString('utf8')) as OciIndexJson;
      } catch {
        throw new UserError('cache.corrupt', `${name}: index.json is not JSON`);
      }
      const entry = Array.isArray(index.manifests) ? index.manifests.find((m) => m?.annotations?.[CACHE_REF_ANNOTATION] === LOCAL_CACHE_REF) : undefined;
      if (!entry) return undefined;
      if (typeof entry.digest !== 'string' || !isSha256(entry.digest) || typeof entry.size !== 'number' || entry.size > MAX_CACHE_MANIFEST_BYTES) {
        throw new UserError('cache.corrupt', `${name}: index.json's cache entry is not a valid descriptor`);
      }
      if (!(await blobsReady())) throw new UserError('cache.corrupt', `${name}: has no blobs/sha256 directory`);
      const bytes = await readRegularFile(blobPath(dir, entry), { maxBytes: MAX_CACHE_MANIFEST_BYTES, what: `${name}: manifest ${entry.digest}` });
      if (sha256Of(bytes) !== entry.digest) throw new UserError('cache.corrupt', `${name}: manifest ${entry.digest} does not match its digest`);
      return bytes;
    },
    async readBlob(d, maxBytes) {
      return readRegularFile(blobPath(dir, d), { maxBytes, what: `${name}: blob ${d.digest}` });
    },
    async openBlob(d) {
      const fh = await openRegularFile(blobPath(dir, d), { maxBytes: d.size, what: `${name}: blob ${d.digest}` });
      return fh.createReadStream();
    },
  };
}

export function localCacheDest(dir: string, name: string): CacheDestIo {
  const ready = (async () => {
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    if (!(await realDir(dir, name))) throw new UserError('cache.not-a-directory', `${name}: cannot create ${dir}`);
  })();
  const write = async (path: string, open: () => Readable) => {
    const tmp = tempSibling(path);
    try {
      await pipeline(open(), createWriteStream(tmp, { mode: 0o644 }));
      await rename(tmp, path);
    } finally {
      await rm(tmp, { force: true });
    }
  };
  return {
    name,
    async hasBlob(d) {
      await ready;
      const st = await lstat(blobPath(dir, d)).catch(() => undefined);
      return !!st && st.isFile() && st.size === d.size;
    },
    async writeBlob(d, open) {
      await ready;
      await write(blobPath(dir, d), open);
    },
    async writeManifest(e) {
      await ready;
      await write(blobPath(dir, e.configDescriptor), () => Readable.from([e.config]));
      await write(blobPath(dir, e.manifestDescriptor), () => Readable.from([e.manifest]));
      let others: Descriptor[] = [];
      try {
        const raw = await readRegularFile(join(dir, 'index.json'), { maxBytes: MAX_INDEX_BYTES, what: `${name}: index.json` });
        const old = JSON.parse(raw.toString('utf8')) as OciIndexJson;
        if (Array.isArray(old.manifests)) others = old.manifests.filter((m) => m?.annotations?.[CACHE_REF_ANNOTATION] !== LOCAL_CACHE_REF);
      } catch {
        // absent or unreadable: the export makes a fresh index
      }
      const entry: Descriptor = { ...e.manifestDescriptor, annotations: { [CACHE_REF_ANNOTATION]: LOCAL_CACHE_REF } };
      const index: OciIndexJson = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [...others, entry] };
      await atomicWriteFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
      await atomicWriteFile(join(dir, 'index.json'), JSON.stringify(index));
    },
  };
}

/** A store blob's bytes as a stream, for copying it to a destination. */
export const fileStream = (path: string) => createReadStream(path);
