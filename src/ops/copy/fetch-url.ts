/**
 * `ADD https://… dest`: the remote file is fetched with node's http/https into the blob store
 * (content-addressed, under the build's lease), so its digest is known before the step's cache key
 * is made. Every build fetches again and keys on the digest of what came back (no ETag /
 * If-None-Match bookkeeping): changed remote content misses, unchanged content hits, and a server
 * that lies in its validators cannot make a stale layer look current. With --checksum the key is
 * the checksum itself and nothing is fetched unless the step runs (BuildKit does the same).
 */
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { chmod, copyFile, rm, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import type { Sha256 } from '../../hash/index.js';
import type { BlobStore } from '../../store/index.js';
import { lazily, UserError } from '../../util/index.js';
import { copyRoots, type CopyOptions } from './copy.js';

export interface FetchedUrl {
  readonly url: string;
  /** The file name ADD gives it: the URL path's last segment (BuildKit's `__unnamed__` if none). */
  readonly name: string;
  /** sha256 of the body, which is also its blob in the store. */
  readonly digest: Sha256;
  readonly size: number;
  /** From `Last-Modified`, when the server sent one. */
  readonly mtime?: Date;
}

export interface FetchOptions {
  /** The step label, for errors. */
  readonly label: string;
  /** `--checksum=<algo>:<hex>`: the body must hash to it. */
  readonly checksum?: string;
  readonly signal?: AbortSignal;
}

/** Go's http.Client default, which BuildKit's HTTP source uses. */
const MAX_REDIRECTS = 10;
/** No byte for this long (connect, headers or body): give up rather than hang the build. */
const IDLE_TIMEOUT_MS = 60_000;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CHECKSUM_ALGOS = new Set(['sha256', 'sha384', 'sha512']);

export const isUrlSource = (s: string): boolean => /^https?:\/\//i.test(s);

/**
 * BuildKit: the file name is the last segment of the URL's decoded path as written (not after
 * redirects), so an encoded `%2F` cannot smuggle a `/` or `..` into it.
 */
export function urlFileName(url: string): string {
  const raw = new URL(url).pathname;
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    path = raw; // a stray `%`: keep the path as written
  }
  const base = posix.basename(path);
  return base && base !== '/' && base !== '.' && base !== '..' ? base : '__unnamed__';
}

/** Checks `--checksum` for an ADD (BuildKit's rules) before anything is fetched. */
export function checkChecksumFlag(label: string, sources: readonly string[], checksum: string | undefined): void {
  if (checksum === undefined) return;
  if (!sources.every(isUrlSource)) {
    throw new UserError('build.checksum-not-url', `${label}: checksum can't be specified for non-HTTP(S) sources`, 'drop --checksum, or ADD from an http(s) URL');
  }
  if (sources.length > 1) throw new UserError('build.checksum-sources', `${label}: checksum can't be specified for multiple sources`, 'ADD each URL on its own line with its own --checksum');
  const [algo = '', hex = ''] = checksum.split(':');
  if (!CHECKSUM_ALGOS.has(algo) || !/^[0-9a-f]+$/.test(hex)) {
    throw new UserError('build.bad-checksum', `${label}: --checksum=${checksum} is not a digest`, 'write --checksum=sha256:<64 hex digits>');
  }
}

/** Fetches `url` (following up to 10 redirects) into `blobs`; HTTP and network failures are UserErrors naming the URL. */
export async function fetchUrl(url: string, blobs: Pick<BlobStore, 'putStream'>, opts: FetchOptions): Promise<FetchedUrl> {
  if (!URL.canParse(url)) throw new UserError('build.bad-url', `${opts.label}: ${url} is not a valid URL`);
  const res = await follow(url, opts);
  const [algo, want] = opts.checksum?.split(':') ?? [];
  const tap = new (hashTapClass())(algo ?? 'sha256');
  let stored: { digest: Sha256; size: number };
  try {
    res.on('error', (e) => tap.destroy(e));
    stored = await blobs.putStream(res.pipe(tap));
  } catch (e) {
    throw failed(url, opts.label, e);
  }
  const got = tap.hash.digest('hex');
  if (want !== undefined && got !== want) {
    throw new UserError('build.checksum-mismatch', `${opts.label}: ${url}: checksum mismatch: expected ${opts.checksum}, got ${algo}:${got}`, 'update --checksum if the new content is right');
  }
  const lm = res.headers['last-modified'];
  const mtime = lm !== undefined ? new Date(lm) : undefined;
  return { url, name: urlFileName(url), digest: stored.digest, size: stored.size, ...(mtime && !Number.isNaN(mtime.getTime()) ? { mtime } : {}) };
}

/** The final 2xx response; redirects followed, anything else an error. */
async function follow(url: string, opts: FetchOptions): Promise<IncomingMessage> {
  let current = url;
  for (let hops = 0; ; hops++) {
    const res = await get(current, url, opts);
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status) && res.headers.location) {
      res.resume();
      if (hops === MAX_REDIRECTS) throw new UserError('build.url-fetch', `${opts.label}: ${url}: stopped after ${MAX_REDIRECTS} redirects`);
      const next = new URL(res.headers.location, current);
      if (!isUrlSource(next.href)) throw new UserError('build.url-fetch', `${opts.label}: ${url}: redirected to ${next.href}, which is not http(s)`);
      current = next.href;
      continue;
    }
    if (status < 200 || status > 299) {
      res.resume();
      const via = current !== url ? ` (redirected to ${current})` : '';
      throw new UserError('build.url-fetch', `${opts.label}: ${url}${via}: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd(), 'check the URL and that the server serves it');
    }
    return res;
  }
}

function get(url: string, original: string, opts: FetchOptions): Promise<IncomingMessage> {
  const request = url.toLowerCase().startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { 'user-agent': 'wharf' }, ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => {
      // Body stalls are errors of the response stream, surfaced by putStream.
      res.setTimeout?.(IDLE_TIMEOUT_MS, () => res.destroy(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000}s`)));
      resolve(res);
    });
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no response for ${IDLE_TIMEOUT_MS / 1000}s`)));
    req.on('error', (e) => reject(failed(original, opts.label, e)));
    req.end();
  });
}

function failed(url: string, label: string, e: unknown): unknown {
  if (e instanceof UserError || (e instanceof Error && e.name === 'AbortError')) return e;
  const err = e as NodeJS.ErrnoException;
  return new UserError('build.url-fetch', `${label}: ${url}: ${err.message || err.code || String(e)}`, 'check the URL and that the server is reachable');
}

/**
 * Writes fetched files into the merged tree with COPY's dest rules: mode 0600 (or --chmod), mtime
 * from Last-Modified, never extracted. `sources` counts every source of the step (local ones too).
 */
export async function addFetched(rootfs: string, files: readonly FetchedUrl[], blobs: Pick<BlobStore, 'path' | 'tempDir'>, sources: number, o: CopyOptions): Promise<void> {
  if (sources > 1 && !o.destIsDir) {
    throw new UserError('build.dest-not-dir', `${o.label}: with more than one source the destination must be a directory and end with a /`);
  }
  const staging = await blobs.tempDir('add-url');
  try {
    for (const f of files) {
      const abs = join(staging, f.digest.slice('sha256:'.length));
      await copyFile(blobs.path(f.digest), abs);
      await chmod(abs, 0o600);
      if (f.mtime) await utimes(abs, f.mtime, f.mtime);
      await copyRoots(rootfs, [{ name: f.name, items: [{ rel: '', abs, type: 'file', mode: 0o600, uid: 0, gid: 0 }] }], { ...o, extract: false });
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Passes bytes through unchanged while hashing them with `algo` (declared on first use: util/lazily.ts). */
const hashTapClass = lazily(
  () =>
    class HashTap extends Transform {
      readonly hash;
      constructor(algo: string) {
        super();
        this.hash = createHash(algo);
      }
      override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        this.hash.update(chunk);
        cb(null, chunk);
      }
    },
);
