/**
 * A build's push (`push: true`): every name the image is given, in turn, from inside the build
 * (before it is tagged here, while the build knows where its imported cache layers are). Progress
 * goes out as events; a failure says the image stays built and tagged here.
 */
import { fullName, type Reference, type Store } from '../store/index.js';
import type { CommittedImage } from '../image/index.js';
import type { RegistryClientOptions, RemoteLayers } from '../registry/index.js';
import type { BuildEvent } from '../progress/index.js';
import { isUserError, nowMs, UserError } from '../util/index.js';
import { pushNamed, pushOptions, withRegistry, type PushFlags } from './registry.js';
import { NOTHING_TO_PUSH } from './build-codes.js';

/** `push` of BuildOptions as an object: the push's settings, and how the caller asked for it. */
export interface BuildPushOptions extends PushFlags {
  /** What asked for the push, as errors name it (`--push`; `push` by default). */
  readonly flag?: string;
}

/** The names a build pushes (each once), checked before the build starts. */
export function pushTargets(push: boolean | BuildPushOptions | undefined, tags: readonly Reference[]): { readonly names: readonly Reference[]; readonly flags: BuildPushOptions } | undefined {
  if (!push) return undefined;
  const flags = push === true ? {} : push;
  if (!tags.length) {
    throw new UserError(NOTHING_TO_PUSH, `${flags.flag ?? 'push'}: nothing to push to: name the image with -t NAME (or -o type=registry,name=NAME)`);
  }
  pushOptions(flags);
  return { names: tags, flags };
}

export interface BuiltPush {
  readonly store: Store;
  readonly registry: RegistryClientOptions | undefined;
  readonly emit: (e: BuildEvent) => void;
  /** When the build began (event times count from it). */
  readonly t0: number;
  readonly signal: AbortSignal;
}

export async function pushBuilt(image: CommittedImage, remote: RemoteLayers, target: NonNullable<ReturnType<typeof pushTargets>>, p: BuiltPush): Promise<void> {
  const opts = { ...pushOptions(target.flags), image, remote, signal: p.signal };
  await withRegistry(p.registry, async (http) => {
    for (const n of target.names) {
      const tagged: Reference = n.tag ? n : { ...n, tag: 'latest' };
      const name = fullName(tagged);
      try {
        p.emit({ type: 'push-started', name, at: Math.round(nowMs() - p.t0) });
        const r = await pushNamed(http, p.store, tagged, opts, undefined, p.emit, p.t0);
        p.emit({ type: 'pushed', name, digest: r.digest, size: r.size, mediaType: r.mediaType });
      } catch (e) {
        if (!isUserError(e) || p.signal.aborted) throw e;
        throw new UserError(e.code, `pushing ${name}: ${e.message}`, `${e.hint ? `${e.hint}; ` : ''}the image ${image.id.slice(0, 19)} is built and tagged ${name} here: \`wharf push ${name}\` tries again`);
      }
    }
  });
}
