import { setExitCode, type RegisterCommand } from '../context.js';

const collect = (v: string, acc: string[]) => [...acc, v];

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('prune')
    .description('Delete blobs no tag references and stale temp files; prints the space reclaimed')
    .option('--cache-mounts', 'also delete RUN --mount=type=cache directories no running build uses')
    .option('--filter <until=DURATION>', 'also forget build cache records older than this (a Go duration: 24h, 90m)', collect, [])
    .option('--keep-storage <size>', 'also forget the oldest build cache records until the cache keeps at most this much (10gb, 512mb, 0)')
    .action(async (opts: { cacheMounts?: boolean; filter: string[]; keepStorage?: string }, cmd) => {
      const { prune } = await import('../image-commands.js');
      setExitCode(cmd, await prune(ctx, ctx.root(cmd), { cacheMounts: opts.cacheMounts === true, filters: opts.filter, ...(opts.keepStorage !== undefined ? { keepStorage: opts.keepStorage } : {}) }));
    });
};
