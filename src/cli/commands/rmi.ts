import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('rmi')
    .description('Remove image tags and collect the blobs no longer referenced')
    .argument('<name...>', 'image names')
    .action(async (names: string[], _opts, cmd) => {
      const { rmi } = await import('../image-commands.js');
      setExitCode(cmd, await rmi(ctx, ctx.root(cmd), names));
    });
};
