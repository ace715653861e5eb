// `pull` and `push` of the library: one image by name, with progress as events.
import { familiarName, fullName, type Reference, type Store } from '../store/index.js';
import { parseImageName } from '../image/index.js';
import { openSnapshots } from '../snapshot/index.js';
import { pullImage, type PullEvent, type PushResult, type RegistryClientOptions } from '../registry/index.js';
import { hostPlatform, nowMs, UserError, type Platform } from '../util/index.js';
import type { PullProgress, PushProgress } from '../progress/index.js';
import { parsePlatform } from './build-args.js';
import { openApiStore } from './open-store.js';
import { withStoreRegistry } from './plain-http-hosts.js';
import { pullProgress, pushNamed, pushOptions, withRegistry, type PushFlags } from './registry.js';

export interface PullOptions {
  /** The store root. */
  readonly root: string;
  /** An image name, as `docker pull` takes it (`busybox`, `host:5000/app:1`, `app@sha256:…`). */
  readonly name: string;
  /** `os/arch[/variant]`, or a Platform; the host's by default. */
  readonly platform?: string | Platform;
  /** Credentials dir, TLS, proxies (see registry/types.ts). */
  readonly registry?: RegistryClientOptions;
  /** An open store to use instead of opening `root` (a server keeps one). */
  readonly store?: Store;
}

export interface Hooks<E> {
  readonly onEvent?: (e: E) => void;
  readonly signal?: AbortSignal;
}

export interface PullResult {
  /** The name pulled, with its tag (`docker.io/library/busybox:latest`). */
  readonly name: string;
  /** `repo@sha256:…` of what the registry served. */
  readonly repoDigest: string;
  /** Layer blobs downloaded (0 when the store already had them all). */
  readonly downloaded: number;
}

export async function pull(o: PullOptions, hooks: Hooks<PullProgress> = {}): Promise<PullResult> {
  const ref = parseImageName(o.name);
  const platform = o.platform === undefined ? hostPlatform() : typeof o.platform === 'string' ? parsePlatform(o.platform) : o.platform;
  const store = o.store ?? (await openApiStore(o.root));
  const tagged: Reference = ref.digest || ref.tag ? ref : { ...ref, tag: 'latest' };
  const toProgress = pullProgress(familiarName(tagged), nowMs());
  const onEvent = hooks.onEvent;
  const snapshots = openSnapshots(o.root, store);
  const r = await withRegistry(withStoreRegistry(o.registry, o.root), (http) => pullImage(http, store, tagged, {
    platform,
    snapshots,
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    ...(onEvent ? { onEvent: (e: PullEvent) => onEvent(toProgress(e)) } : {}),
  })).finally(() => snapshots.flush({ background: true }));
  return { name: fullName(tagged), repoDigest: r.repoDigest, downloaded: r.downloaded };
}

export interface PushApiOptions extends PushFlags {
  readonly root: string;
  /** NAME[:TAG] of a stored image; the registry is the name's. */
  readonly name: string;
  readonly registry?: RegistryClientOptions;
  readonly store?: Store;
}

/**
 * Pushes a stored image; `onEvent` gets the lines `docker push` prints, except the layers' when
 * `onProgress` is given: it then gets every layer's progress (waiting, bytes sent, outcome).
 */
export async function push(o: PushApiOptions, hooks: Hooks<string> & { readonly onProgress?: (e: PushProgress) => void } = {}): Promise<PushResult> {
  const ref = parseImageName(o.name);
  if (ref.digest) throw new UserError('cli.bad-reference', `push ${o.name}: push a tag, not a digest`, 'e.g. registry:5000/app:1');
  const tagged: Reference = ref.tag ? ref : { ...ref, tag: 'latest' };
  const options = pushOptions(o);
  const store = o.store ?? (await openApiStore(o.root));
  return withRegistry(withStoreRegistry(o.registry, o.root), (http) => pushNamed(http, store, tagged, { ...options, ...(hooks.signal ? { signal: hooks.signal } : {}) }, hooks.onEvent, hooks.onProgress));
}
