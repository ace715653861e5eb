/**
 * The image endpoints the docker CLI and dockerode use: list, inspect, history, tag, remove,
 * save (get), load, pull (create), push, prune. Each answers what dockerd answers for the same
 * request, from the same store the CLI uses.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { familiarName, parseDuration, parseImageName, pull, push, type ImageFilter, type PruneOptions, type PullProgress, type RegistryClientOptions } from '../api/index.js';
import { HttpError, json, jsonStream, streamError } from './respond.js';
import { DEFAULT_MAX_BODY } from './build.js';
import type { Request } from './types.js';

const unix = (iso: string | undefined): number => (iso ? Math.floor(Date.parse(iso) / 1000) : 0);

export async function listImages(r: Request): Promise<void> {
  const filter = imageFilter(r.query);
  const store = await r.openStore();
  const { entries } = await store.images(filter);
  const byId = new Map<string, { tags: string[]; digests: string[]; e: (typeof entries)[number] }>();
  for (const e of entries) {
    const g = byId.get(e.image.id) ?? { tags: [], digests: [], e };
    g.tags.push(e.name);
    if (e.repoDigest) g.digests.push(e.repoDigest);
    byId.set(e.image.id, g);
  }
  json(r.res, 200, [...byId.values()].map(({ tags, digests, e }) => ({
    Id: e.image.id,
    ParentId: '',
    RepoTags: tags,
    RepoDigests: digests,
    Created: unix(e.image.config.created),
    Size: e.size,
    VirtualSize: e.size,
    SharedSize: -1,
    Labels: e.image.config.config?.Labels ?? null,
    Containers: -1,
  })));
}

/** GET /images/json's `filters={"reference":{"app:*":true},"dangling":{"true":true}}`, read as `wharf images --filter` reads its flags. */
export function imageFilter(q: URLSearchParams): ImageFilter {
  const out: { reference?: string[]; dangling?: boolean } = {};
  for (const [key, values] of Object.entries(parseFilters(q, 'images/json'))) {
    if (key === 'reference') out.reference = values;
    else if (key === 'dangling' && values.length === 1 && (values[0] === 'true' || values[0] === 'false')) out.dangling = values[0] === 'true';
    else throw new HttpError(400, `images/json: filter ${key}=${values.join(',')} is not one wharf knows; it takes reference=PATTERN and dangling=true|false`);
  }
  return out;
}

/** docker's filters query: `{"key":{"value":true}}`, or from older clients `{"key":["value"]}`. */
function parseFilters(q: URLSearchParams, what: string): Record<string, string[]> {
  const text = q.get('filters');
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, `${what}: filters=${text} is not JSON`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new HttpError(400, `${what}: filters=${text} is not a JSON object`);
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    out[key] = Array.isArray(value) ? value.map(String) : value && typeof value === 'object' ? Object.keys(value) : [String(value)];
  }
  return out;
}

export async function inspectImage(r: Request, [name]: readonly string[]): Promise<void> {
  const store = await r.openStore();
  json(r.res, 200, await store.inspect(name!));
}

export async function imageHistory(r: Request, [name]: readonly string[]): Promise<void> {
  const store = await r.openStore();
  const { image, rows } = await store.history(name!);
  const { tags } = await store.find(name!);
  json(r.res, 200, rows.map((row, i) => ({
    Id: row.id,
    Created: unix(row.created),
    CreatedBy: row.createdBy,
    Tags: i === 0 ? tags.map((t) => familiarName(t.ref)) : null,
    Size: row.size,
    Comment: row.comment,
  })).map((h, i) => (i === 0 ? { ...h, Id: image.id } : h)));
}

export async function tagImage(r: Request, [name]: readonly string[]): Promise<void> {
  const repo = r.query.get('repo');
  if (!repo) throw new HttpError(400, 'tag: give the new name with repo=NAME (and tag=TAG)');
  const tag = r.query.get('tag');
  const store = await r.openStore();
  await store.tag(name!, tag ? `${repo}:${tag}` : repo);
  r.res.writeHead(201).end();
}

export async function removeImage(r: Request, [name]: readonly string[]): Promise<void> {
  const store = await r.openStore();
  const force = ['1', 'true'].includes(r.query.get('force') ?? '');
  const removed = await store.remove(name!, { force });
  const out: Record<string, string>[] = [...removed.untagged.map((ref) => ({ Untagged: familiarName(ref) })), ...removed.deleted.map((id) => ({ Deleted: id }))];
  json(r.res, 200, out);
}

/** GET /images/get?names=… and /images/{name}/get: a docker (and OCI) archive, as `docker save` writes. */
export async function saveImages(r: Request, params: readonly string[]): Promise<void> {
  const names = params[0] ? [params[0]] : r.query.getAll('names');
  if (!names.length) throw new HttpError(400, 'images/get: name the images with names=NAME (repeatable)');
  const store = await r.openStore();
  const dir = await mkdtemp(join(await store.store.tempDir('serve-save'), 'x'));
  try {
    const file = join(dir, 'images.tar');
    await store.save(names, file);
    r.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await pipeline(createReadStream(file), r.res);
  } finally {
    await rm(join(dir, '..'), { recursive: true, force: true });
  }
}

/** POST /images/load: the archive is the body; spooled to the store's tmp, then loaded as `wharf load` does. */
export async function loadImages(r: Request): Promise<void> {
  const store = await r.openStore();
  const tmp = await store.store.tempDir('serve-load');
  try {
    const file = join(tmp, 'archive.tar');
    const max = r.options.maxBodyBytes ?? DEFAULT_MAX_BODY;
    let n = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _e, done) {
        n += chunk.length;
        done(n > max ? new HttpError(413, `load: the archive is over the server's limit of ${max} bytes`) : null, chunk);
      },
    });
    await pipeline(r.req, cap, createWriteStream(file));
    const names = await store.load(file);
    const quiet = ['1', 'true'].includes(r.query.get('quiet') ?? '');
    const out = jsonStream(r.res);
    for (const name of names) out.send(quiet ? { stream: `Loaded image: ${name}\n` } : { stream: `Loaded image: ${name}\n` });
    out.end();
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** X-Registry-Auth: base64url JSON {username, password, serveraddress} (or {identitytoken}). */
function registryWithAuth(base: RegistryClientOptions, header: string | string[] | undefined, domain: string): RegistryClientOptions {
  if (typeof header !== 'string' || !header) return base;
  let auth: { username?: string; password?: string; identitytoken?: string };
  try {
    auth = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as typeof auth;
  } catch {
    throw new HttpError(400, 'X-Registry-Auth is not base64url-encoded JSON');
  }
  if (!auth.username && !auth.identitytoken) return base;
  const creds = { ...(auth.username ? { username: auth.username } : {}), ...(auth.password ? { password: auth.password } : {}), ...(auth.identitytoken ? { identityToken: auth.identitytoken } : {}) };
  // The client's credentials for this request's registry; others (none expected) find none.
  return {
    ...base,
    credentials: {
      get: async (d) => (d === domain ? creds : undefined),
      store: async () => {},
      erase: async () => false,
    },
  };
}

const domainOf = (name: string): string => {
  const full = familiarName(parseImageName(name));
  const first = full.split('/')[0]!;
  return full.includes('/') && /[.:]|^localhost$/.test(first) ? first : 'docker.io';
};

/** POST /images/create?fromImage=NAME&tag=TAG: a pull, progress streamed as docker's status lines. */
export async function createImage(r: Request): Promise<void> {
  const from = r.query.get('fromImage');
  if (!from) throw new HttpError(400, 'images/create: only pulls are supported: give fromImage=NAME (fromSrc imports are not)');
  const tag = r.query.get('tag');
  const name = tag ? (tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`) : from;
  const registry = registryWithAuth(r.options.registry, r.req.headers['x-registry-auth'], domainOf(name));
  const out = jsonStream(r.res);
  const ref = parseImageName(name);
  out.send({ status: `Pulling from ${ref.path}`, id: ref.digest ?? ref.tag ?? 'latest' });
  const seen = new Set<string>();
  const onEvent = (e: PullProgress) => {
    if (e.state === 'resolved' || seen.has(e.digest + e.state)) return;
    if (e.state === 'downloading') return out.send({ status: 'Downloading', id: e.digest.slice(7, 19), progressDetail: { current: e.bytes, total: e.total } });
    seen.add(e.digest + e.state);
    out.send({ status: e.state === 'exists' ? 'Already exists' : e.state === 'verified' ? 'Pull complete' : 'Waiting', id: e.digest.slice(7, 19), progressDetail: {} });
  };
  try {
    const res = await pull({ root: r.options.root, name, registry, ...(r.query.get('platform') ? { platform: r.query.get('platform')! } : {}) }, { onEvent, signal: r.signal });
    out.send({ status: `Digest: ${res.repoDigest.slice(res.repoDigest.indexOf('@') + 1)}` });
    out.send({ status: `Status: ${res.downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarName(parseImageName(res.name))}` });
  } catch (e) {
    if (r.signal.aborted) throw e;
    out.send(streamError(e));
  }
  out.end();
}

/** POST /images/{name}/push?tag=TAG, credentials in X-Registry-Auth. */
export async function pushImage(r: Request, [name]: readonly string[]): Promise<void> {
  const tag = r.query.get('tag');
  const full = tag ? `${name}:${tag}` : name!;
  const registry = registryWithAuth(r.options.registry, r.req.headers['x-registry-auth'], domainOf(full));
  const out = jsonStream(r.res);
  try {
    const res = await push({ root: r.options.root, name: full, registry }, { onEvent: (line) => out.send({ status: line }), signal: r.signal });
    out.send({ progressDetail: {}, aux: { Tag: res.tag, Digest: res.digest, Size: res.size } });
  } catch (e) {
    if (r.signal.aborted) throw e;
    out.send(streamError(e));
  }
  out.end();
}

export async function pruneImages(r: Request): Promise<void> {
  const store = await r.openStore();
  const gc = await store.prune();
  json(r.res, 200, { ImagesDeleted: null, SpaceReclaimed: gc.bytesReclaimed });
}

/**
 * POST /build/prune, what `docker builder prune` sends: `filters={"until":{"24h":true}}`,
 * `keep-storage=BYTES` (0, the client's default, means no limit) and `all=1` (every record goes).
 * The same prune as `wharf prune --filter until= --keep-storage`.
 */
export async function pruneBuildCache(r: Request): Promise<void> {
  const opts = buildPruneOptions(r.query);
  const store = await r.openStore();
  const gc = await store.prune(opts);
  json(r.res, 200, { CachesDeleted: null, SpaceReclaimed: gc.bytesReclaimed });
}

export function buildPruneOptions(q: URLSearchParams): PruneOptions {
  let untilMs: number | undefined;
  for (const [key, values] of Object.entries(parseFilters(q, 'build/prune'))) {
    if (key !== 'until') throw new HttpError(400, `build/prune: filter ${key} is not one wharf knows; it takes until=DURATION`);
    for (const v of values) {
      try {
        untilMs = parseDuration(v, `build/prune filter until=${v}`);
      } catch (e) {
        throw new HttpError(400, (e as Error).message);
      }
    }
  }
  const keepText = q.get('keep-storage');
  const keep = keepText ? Number(keepText) : 0;
  if (!Number.isSafeInteger(keep) || keep < 0) throw new HttpError(400, `build/prune: keep-storage=${keepText} is not a byte count`);
  // all=1 forgets every record, also those whose layers a tagged image still uses (which
  // keep-storage counts as free): every record is older than 0 ms.
  if (['1', 'true'].includes(q.get('all') ?? '') && untilMs === undefined) untilMs = 0;
  return { ...(untilMs !== undefined ? { untilMs } : {}), ...(keep > 0 ? { keepStorageBytes: keep } : {}) };
}
