// `wharf serve`: the server's settings from flags and the environment, its log on stderr, and
// SIGTERM/SIGINT as "stop accepting, let running requests finish, exit 0".
import { serve } from '../server/index.js';
import { parseSize, UserError } from '../api/index.js';
import { withRuntimeCache, type CliContext } from './context.js';
import { registryOptions } from './registry-options.js';
import { WHARF_VERSION } from './version.js';

export interface ServeFlags {
  host: string;
  maxBody: string;
  grace: string;
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

export async function serveCmd(ctx: CliContext, root: string, opts: ServeFlags): Promise<number> {
  const maxBodyBytes = parseSize(opts.maxBody);
  if (!maxBodyBytes) throw new UserError('cli.bad-flag', `--max-body ${opts.maxBody}: not a size`, 'e.g. --max-body 2g');
  const grace = Number(opts.grace);
  if (!(grace >= 0)) throw new UserError('cli.bad-flag', `--grace ${opts.grace}: not a number of seconds`, 'e.g. --grace 30');
  const log = (line: string) => ctx.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const server = await serve({
    root,
    host: opts.host,
    tls: {
      ...(opts.tls ? { tls: true } : {}),
      ...(opts.tlsverify ? { verify: true } : {}),
      ...(opts.tlscacert !== undefined ? { caCert: opts.tlscacert } : {}),
      ...(opts.tlscert !== undefined ? { cert: opts.tlscert } : {}),
      ...(opts.tlskey !== undefined ? { key: opts.tlskey } : {}),
    },
    registry: registryOptions(ctx),
    ...(ctx.env.PATH !== undefined ? { searchPath: ctx.env.PATH } : {}),
    ...withRuntimeCache(ctx),
    log,
    maxBodyBytes,
    version: WHARF_VERSION,
  });
  const tlsNote = opts.tlsverify ? ' over TLS, client certificates required; DOCKER_TLS_VERIFY=1' : opts.tls ? ' over TLS' : '';
  log(`wharf ${WHARF_VERSION} serving the Docker Engine API on ${server.address}${tlsNote} (store ${root}); DOCKER_HOST=${server.address}`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      log(`${sig}: no new requests; waiting up to ${grace}s for running ones`);
      void server.close(grace * 1000).then(resolve);
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
  });
  log('stopped');
  return 0;
}
