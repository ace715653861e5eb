import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('rmi')
    .description('Remove image tags and collect the blobs no longer referenced')
    .argument('<name...>', 'image names or IDs')
    .option('-f, --force', 'remove every tag of an image given by ID')
    .action(async (names: string[], opts: { force?: boolean }, cmd) => {
      const { rmi } = await import('../image-commands.js');
      setExitCode(cmd, await rmi(ctx, ctx.root(cmd), names, opts.force === true));
    });
};
