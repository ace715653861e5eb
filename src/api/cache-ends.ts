// The cache sources and destinations a build's --cache-from / --cache-to specs name, and the
// registry client they share (made only when a spec names a registry).
import { resolve } from 'node:path';
import { localCacheDest, localCacheSource, type CacheDestIo, type CacheSourceIo } from './cache-io.js';
import type { CacheFromSpec, CacheToSpec } from './cache-options.js';
import { registryCacheDest, registryCacheSource } from './cache-registry.js';
import { makeRegistryClient } from './registry.js';
import type { RegistryClient, RegistryClientOptions } from '../registry/index.js';

export interface CacheEnds {
  readonly sources: readonly CacheSourceIo[];
  /** One per --cache-to, in order (undefined for type=inline, which the image itself carries). */
  readonly dests: readonly (CacheDestIo | undefined)[];
  close(): Promise<void>;
}

/** `at.cwd` resolves relative local cache dirs; `at.registry` configures the registry client. */
export function openCacheEnds(ctx: { readonly cwd: string; readonly registry?: RegistryClientOptions | undefined }, from: readonly CacheFromSpec[], to: readonly CacheToSpec[]): CacheEnds {
  let http: RegistryClient | undefined;
  const client = () => (http ??= makeRegistryClient(ctx.registry));
  const sources = from.map((f) => (f.type === 'local' ? localCacheSource(resolve(ctx.cwd, f.src), `type=local,src=${f.src}`) : registryCacheSource(client(), f.ref, `type=registry,ref=${f.ref}`)));
  const dests = to.map((t) => {
    if (t.type === 'inline') return undefined;
    return t.type === 'local' ? localCacheDest(resolve(ctx.cwd, t.dest), `type=local,dest=${t.dest}`) : registryCacheDest(client(), t.ref, `type=registry,ref=${t.ref}`);
  });
  return {
    sources,
    dests,
    close: async () => {
      await http?.close();
    },
  };
}
