/**
 * The library's registry wiring: the puller a build's FROM uses, and push of a stored image under
 * one name. The registry client's options (credentials dir, TLS, proxies) come from the caller:
 * the CLI derives them from its environment, the server from its own.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { familiarName, fullName, type Reference, type Store } from '../store/index.js';
import { loadImage, parseImageName, type LoadedImage } from '../image/index.js';
import { openSnapshots } from '../snapshot/index.js';
import { createRegistryHttp, pushImage, pullImage, shortId, type PullEvent, type PushEvent, type PushFormat, type PushOptions, type PushResult, type RegistryClient, type RegistryClientOptions, type RegistryHttp } from '../registry/index.js';
import type { Compression } from '../layer/index.js';
import { parseSize } from './parse-size.js';
import { formatPlatform, isUserError, nowMs, UserError, type Platform } from '../util/index.js';
import type { PullProgress, PushProgress } from '../progress/index.js';

/** The registry client (TLS, auth, retries); close it when done, or its sockets keep the process alive. */
export function makeRegistryClient(options?: RegistryClientOptions): RegistryClient {
  return createRegistryHttp(options ?? defaultRegistryOptions());
}

/** Without options, credentials are read from ~/.docker (as docker does without DOCKER_CONFIG). */
export const defaultRegistryOptions = (): RegistryClientOptions => ({ configDir: join(homedir(), '.docker') });

export async function withRegistry<T>(options: RegistryClientOptions | undefined, use: (http: RegistryClient) => Promise<T>): Promise<T> {
  const http = makeRegistryClient(options);
  try {
    return await use(http);
  } finally {
    await http.close();
  }
}

/** A registry PullEvent as progress reports it (the image named, times since `t0`). */
export function pullProgress(image: string, t0: number): (e: PullEvent) => PullProgress {
  return (e) => ({
    type: 'pull',
    image,
    state: e.type === 'resolved' ? 'resolved' : e.state,
    digest: e.digest,
    bytes: e.type === 'layer' ? e.bytes : 0,
    total: e.type === 'layer' ? e.total : 0,
    at: Math.round(nowMs() - t0),
  });
}

/**
 * What a build's FROM calls for an image: pulls it when the store lacks it (or always, with
 * --pull), once per name per build. Pull progress goes to the build's event stream (`emit`).
 */
export interface Puller {
  ensure(ref: string): Promise<void>;
  /**
   * The image `ref` names (for the build's platform unless `platform` says another, as FROM
   * --platform does), pulled first when ensure() says so. For the build's platform it is read from
   * the store once per build: a build's FROMs and its plan ask for the same base again and again,
   * and each read checks the manifest's and config's digests.
   */
  image(ref: string, platform?: Platform): Promise<LoadedImage>;
  /** The stored image when nothing needs pulling for it (never under --pull), else undefined. */
  stored(ref: string): Promise<LoadedImage | undefined>;
  /** Starts pulling these now, all at once; ensure() later waits for the same pull. */
  prefetch(refs: Iterable<string>): void;
  close(): Promise<void>;
}

export interface PullerOptions {
  /** --pull: pull even what the store has (re-resolve tags). */
  readonly always?: boolean;
  readonly emit?: (e: PullProgress) => void;
  /** When the build began (event times are from it). */
  readonly t0?: number;
  readonly signal?: AbortSignal;
}

export function makePuller(registry: RegistryClientOptions | undefined, root: string, store: Store, platform: Platform, o: PullerOptions = {}): Puller {
  const { always = false, emit = () => {}, t0 = nowMs() } = o;
  const pulls = new Map<string, Promise<void>>();
  // Aborted by close(): a build that fails while prefetched pulls run does not wait for them.
  const stop = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  // Made on the first pull: a build from images the store has never loads the HTTP client.
  let client: RegistryClient | undefined;
  const snapshots = openSnapshots(root, store);
  const loaded = new Map<string, Promise<LoadedImage>>();
  const load = (name: string): Promise<LoadedImage> => {
    let p = loaded.get(name);
    if (!p) {
      loaded.set(name, (p = loadImage(store, name, platform)));
      // Not kept when it failed: the image may be there after its pull.
      p.catch(() => loaded.delete(name));
    }
    return p;
  };
  const stored = async (name: string): Promise<LoadedImage | undefined> => {
    if (always) return undefined;
    // An image stored for another platform (an earlier pull without --platform) is pulled
    // again for this one, as docker does; the tag then names this platform's image.
    const img = await load(name).catch((e: unknown) => {
      if (isUserError(e) && e.code === 'image.not-found') return undefined;
      throw e;
    });
    return img && matches(img.config, platform) ? img : undefined;
  };
  async function pull(name: string): Promise<void> {
    if (await stored(name)) return;
    const ref = parseImageName(name);
    const tagged: Reference = ref.digest || ref.tag ? ref : { ...ref, tag: 'latest' };
    const toProgress = pullProgress(familiarName(tagged), t0);
    client ??= makeRegistryClient(registry);
    await pullImage(client, store, tagged, { platform, snapshots, signal, onEvent: (e) => emit(toProgress(e)) }).catch((e: unknown) => {
      throw isUserError(e) ? new UserError(e.code, `pulling ${name}: ${e.message}`, e.hint, { subject: name }) : e;
    });
    // The name now points at what was pulled.
    loaded.delete(name);
  }
  const ensure = (name: string) => {
    let p = pulls.get(name);
    if (!p) pulls.set(name, (p = pull(name)));
    return p;
  };
  return {
    ensure,
    image: (name, p) => ensure(name).then(() => (!p || formatPlatform(p) === formatPlatform(platform) ? load(name) : loadImage(store, name, p))),
    stored,
    prefetch(refs) {
      // A failure is reported by the step that needs the image (its ensure() gets the same promise).
      for (const r of refs) ensure(r).catch(() => undefined);
    },
    async close() {
      // A prefetched pull the build never waited for (it failed first) must not outlive the client.
      stop.abort(new UserError('build.interrupted', 'the build stopped'));
      await Promise.allSettled(pulls.values());
      await client?.close();
      await snapshots.flush({ background: true });
    },
  };
}

/** What `wharf push` and `wharf build --push` take besides the names. */
export interface PushFlags {
  readonly compression?: string;
  readonly format?: string;
  readonly chunkSize?: string;
}

const WIRE_COMPRESSIONS = ['gzip', 'zstd', 'none'] as const;
const FORMATS = ['docker', 'oci'] as const;

/** The push options the flags give; a bad value is a UserError naming the flag. */
export function pushOptions(flags: PushFlags, flagPrefix = ''): PushOptions {
  const compression = flags.compression ?? 'gzip';
  if (!(WIRE_COMPRESSIONS as readonly string[]).includes(compression)) {
    throw new UserError('cli.bad-flag', `--${flagPrefix}compression ${compression}: not a layer compression`, `use one of ${WIRE_COMPRESSIONS.join(', ')}`);
  }
  const format = flags.format ?? 'docker';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UserError('cli.bad-flag', `--format ${format}: not a manifest format`, 'use docker (schema2, the default) or oci');
  let chunkSize: number | undefined;
  if (flags.chunkSize !== undefined) {
    chunkSize = parseSize(flags.chunkSize);
    if (!chunkSize || chunkSize < 1024) throw new UserError('cli.bad-flag', `--chunk-size ${flags.chunkSize}: not a size of at least 1k`, 'e.g. --chunk-size 5m');
  }
  return { compression: compression as Compression, format: format as PushFormat, ...(chunkSize ? { chunkSize } : {}) };
}

/** Plain lines as `docker push` prints them, one per layer once it is settled. */
function pushLines(log: (line: string) => void): (e: PushEvent) => void {
  return (e) => {
    if (e.state === 'compressing' || e.state === 'waiting' || e.state === 'uploading') return;
    const what = e.state === 'pushed' ? 'Pushed' : e.state === 'exists' ? 'Layer already exists' : `Mounted from ${e.from ?? ''}`;
    log(`${shortId(e.digest)}: ${what}`);
  };
}

/** Push events as the progress module's view of them, each line named by the stored layer. */
export function pushProgress(image: string, t0: number): (e: PushEvent) => PushProgress {
  return (e) => ({
    type: 'push',
    image,
    state: e.state === 'compressing' ? 'preparing' : e.state,
    digest: ('source' in e && e.source) || e.digest,
    bytes: e.state === 'uploading' ? e.bytes : 0,
    total: e.state === 'uploading' || e.state === 'waiting' ? e.total : 0,
    ...(e.state === 'mounted' && e.from ? { from: e.from } : {}),
    at: Math.round(nowMs() - t0),
  });
}

/**
 * Pushes a stored image under one name: `The push refers to repository [...]`, a line per layer
 * and `TAG: digest: sha256:… size: N`, as docker prints them, to `log` (nothing without one).
 * With `progress`, the layers' events go there instead of their lines (bars on a tty, json),
 * their times counted from `t0`.
 */
export async function pushNamed(http: RegistryHttp, store: Store, tagged: Reference, opts: PushOptions, log: ((line: string) => void) | undefined, progress?: (e: PushProgress) => void, t0 = nowMs()): Promise<PushResult> {
  if (log) log(`The push refers to repository [${fullName(tagged).replace(/:[^:/]+$/, '')}]`);
  const toProgress = progress && pushProgress(fullName(tagged), t0);
  const onEvent = progress ? (e: PushEvent) => progress(toProgress!(e)) : log ? pushLines(log) : undefined;
  const r = await pushImage(http, store, tagged, { ...opts, ...(onEvent ? { onEvent } : {}) });
  if (log) log(`${r.tag}: digest: ${r.digest} size: ${r.size}`);
  return r;
}

/** A config without os/architecture is taken to be for any platform. */
function matches(config: { os?: string; architecture?: string }, p: Platform): boolean {
  return (!config.os || config.os === p.os) && (!config.architecture || config.architecture === p.architecture);
}

