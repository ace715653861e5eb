/**
 * The CLI's registry wiring: the one place a registry client is made from the environment
 * (makeRegistryHttp), `wharf pull`, and `wharf push` (which `build --push` shares).
 */
import { pullRenderer, pushRenderer } from '../progress/index.js';
import type { CliContext } from './context.js';
import { registryOptions } from './registry-options.js';
import { UserError } from '../util/index.js';
import { pull, push, parseImageName, familiarName, fullName, makeRegistryClient, withStoreRegistry, type PushFlags, type Reference, type RegistryClient, type RegistryClientOptions } from '../api/index.js';

/** The registry client every command uses (TLS, auth, retries); close it when done, or its sockets keep the process alive. */
export function makeRegistryHttp(ctx: CliContext, flags: { insecureRegistry?: string[] } = {}): RegistryClient {
  return makeRegistryClient(registryOptions(ctx, flags));
}

/** The client options of a command with a store: the environment's, plus the store's record of plain-http hosts. */
export function storeRegistryOptions(ctx: CliContext, root: string): RegistryClientOptions {
  return withStoreRegistry(registryOptions(ctx), root);
}

export async function pullCmd(ctx: CliContext, root: string, name: string, opts: { platform?: string; quiet?: boolean }): Promise<number> {
  const ref = parseImageName(name);
  const full = fullName(ref.digest || ref.tag ? ref : { ...ref, tag: 'latest' });
  const tagged: Reference = ref.digest || ref.tag ? ref : { ...ref, tag: 'latest' };
  if (!opts.quiet) ctx.stdout.write(`${ref.digest ?? tagged.tag}: Pulling from ${ref.path}\n`);
  // On a tty, one line per layer updated in place (as docker pull draws them); plain lines otherwise.
  const renderer = opts.quiet ? undefined : pullRenderer(ctx.stdout.isTTY ? 'tty' : 'plain', ctx.stdout as NodeJS.WritableStream & { columns?: number });
  let r;
  try {
    r = await pull({ root, name, registry: storeRegistryOptions(ctx, root), ...(opts.platform ? { platform: opts.platform } : {}) }, renderer ? { onEvent: (e) => renderer.sink(e) } : {});
  } finally {
    renderer?.close();
  }
  if (!opts.quiet) {
    ctx.stdout.write(`Digest: ${r.repoDigest.slice(r.repoDigest.indexOf('@') + 1)}\n`);
    ctx.stdout.write(`Status: ${r.downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarName(tagged)}\n`);
  }
  ctx.stdout.write(`${full}\n`);
  return 0;
}

/** `wharf push NAME[:TAG]`: prints what docker push prints. */
export async function pushCmd(ctx: CliContext, root: string, name: string, opts: PushFlags & { quiet?: boolean; progress?: string }): Promise<number> {
  const ref = parseImageName(name);
  if (ref.digest) throw new UserError('cli.bad-reference', `wharf push ${name}: push a tag, not a digest`, 'e.g. wharf push registry:5000/app:1');
  const tagged: Reference = ref.tag ? ref : { ...ref, tag: 'latest' };
  const mode = opts.quiet ? 'quiet' : opts.progress === undefined || opts.progress === 'auto' ? (ctx.stdout.isTTY ? 'tty' : 'plain') : opts.progress;
  if (!['quiet', 'tty', 'plain', 'json'].includes(mode)) throw new UserError('cli.bad-flag', `--progress ${mode}: use auto, tty, plain or json`);
  const { progress: _, quiet: __, ...flags } = opts;
  const line = (l: string) => void ctx.stdout.write(l + '\n');
  const renderer = mode === 'tty' ? pushRenderer('tty', ctx.stdout as NodeJS.WritableStream & { columns?: number }) : undefined;
  const hooks =
    mode === 'quiet' ? {}
    : mode === 'plain' ? { onEvent: line }
    : mode === 'json' ? { onProgress: (e: object) => line(JSON.stringify(e)) }
    : { onEvent: line, onProgress: renderer!.sink };
  let r;
  try {
    r = await push({ root, name, registry: storeRegistryOptions(ctx, root), ...flags }, hooks);
  } finally {
    renderer?.close();
  }
  if (mode === 'json') line(JSON.stringify({ type: 'pushed', name: fullName(tagged), digest: r.digest, size: r.size, mediaType: r.mediaType }));
  if (mode === 'quiet') ctx.stdout.write(`${fullName(tagged)}\n`);
  return 0;
}
