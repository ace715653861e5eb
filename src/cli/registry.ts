/**
 * The CLI's registry wiring: the one place a RegistryHttp is made (makeRegistryHttp), the puller a
 * build's FROM uses, and `wharf pull`.
 */
import { familiarName, fullName, type Reference, type Store } from '../store/index.js';
import { loadImage, parseImageName } from '../image/index.js';
import { openSnapshots } from '../snapshot/index.js';
import { createRegistryHttp, pullImage, shortId, type PullEvent, type RegistryClient } from '../registry/index.js';
import { formatPlatform, hostPlatform, isUserError, UserError, type Platform } from '../util/index.js';
import type { CliContext } from './context.js';
import { openCliStore } from './open-store.js';
import { parsePlatform } from './build-args.js';
import { registryOptions } from './registry-options.js';

/** The registry client every command uses (TLS, auth, retries); close it when done, or its sockets keep the process alive. */
export function makeRegistryHttp(ctx: CliContext, flags: { insecureRegistry?: string[] } = {}): RegistryClient {
  return createRegistryHttp(registryOptions(ctx, flags));
}

async function withRegistry<T>(ctx: CliContext, use: (http: RegistryClient) => Promise<T>): Promise<T> {
  const http = makeRegistryHttp(ctx);
  try {
    return await use(http);
  } finally {
    await http.close();
  }
}

/** Plain lines as `docker pull` prints them, one per layer state change. */
function pullLines(ctx: CliContext): (e: PullEvent) => void {
  return (e) => {
    if (e.type !== 'layer' || e.state === 'downloading') return;
    ctx.stdout.write(`${shortId(e.digest)}: ${e.state === 'exists' ? 'Already exists' : 'Pull complete'}\n`);
  };
}

export async function pullCmd(ctx: CliContext, root: string, name: string, opts: { platform?: string; quiet?: boolean }): Promise<number> {
  const ref = parseImageName(name);
  const platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
  const store = await openCliStore(root);
  const full = fullName(ref.digest || ref.tag ? ref : { ...ref, tag: 'latest' });
  const tagged: Reference = ref.digest || ref.tag ? ref : { ...ref, tag: 'latest' };
  if (!opts.quiet) ctx.stdout.write(`${ref.digest ?? tagged.tag}: Pulling from ${ref.path}\n`);
  const r = await withRegistry(ctx, (http) => pullImage(http, store, tagged, {
    platform,
    snapshots: openSnapshots(root, store),
    ...(opts.quiet ? {} : { onEvent: pullLines(ctx) }),
  }));
  if (!opts.quiet) {
    ctx.stdout.write(`Digest: ${r.repoDigest.slice(r.repoDigest.indexOf('@') + 1)}\n`);
    ctx.stdout.write(`Status: ${r.downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarName(tagged)}\n`);
  }
  ctx.stdout.write(`${full}\n`);
  return 0;
}

/**
 * What a build's FROM calls for an image: pulls it when the store lacks it (or always, with
 * --pull), once per name per build. Pull progress goes to stderr, as build output does.
 */
export interface Puller {
  ensure(ref: string): Promise<void>;
  close(): Promise<void>;
}

export function makePuller(ctx: CliContext, root: string, store: Store, platform: Platform, always: boolean): Puller {
  const pulls = new Map<string, Promise<void>>();
  // Made on the first pull: a build from images the store has never loads the HTTP client.
  let client: RegistryClient | undefined;
  const snapshots = openSnapshots(root, store);
  async function pull(name: string): Promise<void> {
    if (!always) {
      const have = await loadImage(store, name, platform).then(() => true, (e: unknown) => {
        if (isUserError(e) && e.code === 'image.not-found') return false;
        throw e;
      });
      if (have) return;
    }
    const ref = parseImageName(name);
    const tagged: Reference = ref.digest || ref.tag ? ref : { ...ref, tag: 'latest' };
    ctx.stderr.write(`pulling ${familiarName(tagged)} (${formatPlatform(platform)})\n`);
    client ??= makeRegistryHttp(ctx);
    await pullImage(client, store, tagged, { platform, snapshots }).catch((e: unknown) => {
      throw isUserError(e) ? new UserError(e.code, `pulling ${name}: ${e.message}`, e.hint) : e;
    });
  }
  return {
    ensure(name) {
      let p = pulls.get(name);
      if (!p) pulls.set(name, (p = pull(name)));
      return p;
    },
    async close() {
      await client?.close();
    },
  };
}

/** `wharf push NAME[:TAG]`: prints `TAG: digest: sha256:… size: N` as docker does. */
export async function pushCmd(ctx: CliContext, root: string, name: string, opts: { quiet?: boolean }): Promise<number> {
  const ref = parseImageName(name);
  if (ref.digest) throw new UserError('cli.bad-reference', `wharf push ${name}: push a tag, not a digest`, 'e.g. wharf push registry:5000/app:1');
  const tagged: Reference = ref.tag ? ref : { ...ref, tag: 'latest' };
  const store = await openCliStore(root);
  if (!opts.quiet) ctx.stdout.write(`The push refers to repository [${fullName(tagged).replace(/:[^:/]+$/, '')}]\n`);
  const { pushImage } = await import('../registry/index.js');
  const r = await withRegistry(ctx, (http) => pushImage(http, store, tagged));
  ctx.stdout.write(opts.quiet ? `${fullName(tagged)}\n` : `${r.tag}: digest: ${r.digest} size: ${r.size}\n`);
  return 0;
}
