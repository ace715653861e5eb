import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('prune')
    .description('Delete blobs no tag references and stale temp files; prints the space reclaimed')
    .option('--cache-mounts', 'also delete RUN --mount=type=cache directories no running build uses')
    .action(async (opts: { cacheMounts?: boolean }, cmd) => {
      const { prune } = await import('../image-commands.js');
      setExitCode(cmd, await prune(ctx, ctx.root(cmd), { cacheMounts: opts.cacheMounts === true }));
    });
};
