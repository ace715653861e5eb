import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('history')
    .description('Show the steps an image was built from, newest first')
    .argument('<name>', 'image name or ID')
    .option('--no-trunc', 'do not truncate output')
    .action(async (name: string, opts: { trunc: boolean }, cmd) => {
      const { history } = await import('../image-commands.js');
      setExitCode(cmd, await history(ctx, ctx.root(cmd), name, !opts.trunc));
    });
};
