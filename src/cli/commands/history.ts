import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('history')
    .description('Show the steps an image was built from, newest first')
    .argument('<name>', 'image name or ID')
    .option('--no-trunc', 'do not truncate output')
    .option('--format <template>', "a Go template per step, e.g. '{{.CreatedBy}}' (fields ID, CreatedSince, CreatedAt, CreatedBy, Size, Comment)")
    .action(async (name: string, opts: { trunc: boolean; format?: string }, cmd) => {
      const { history } = await import('../image-commands.js');
      setExitCode(cmd, await history(ctx, ctx.root(cmd), name, !opts.trunc, opts.format));
    });
};
