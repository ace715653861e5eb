import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('tag')
    .description('Create a tag TARGET that refers to SOURCE')
    .argument('<source>', 'image name or ID')
    .argument('<target>', 'new name[:tag]')
    .action(async (src: string, dst: string, _opts, cmd) => {
      const { tag } = await import('../image-commands.js');
      setExitCode(cmd, await tag(ctx, ctx.root(cmd), src, dst));
    });
};
