import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('prune')
    .description('Delete blobs no tag references and stale temp files; prints the space reclaimed')
    .action(async (_opts, cmd) => {
      const { prune } = await import('../image-commands.js');
      setExitCode(cmd, await prune(ctx, ctx.root(cmd)));
    });
};
