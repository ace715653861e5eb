import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('fsck')
    .description('Verify every referenced blob exists and matches its digest (exit 1 on problems)')
    .action(async (_opts, cmd) => {
      const { fsck } = await import('../image-commands.js');
      setExitCode(cmd, await fsck(ctx, ctx.root(cmd)));
    });
};
