import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('pull')
    .description('Download an image from a registry into the store')
    .argument('<name>', 'image name[:tag|@digest]')
    .option('--platform <os/arch[/variant]>', 'from a multi-platform image, this platform (default: the host)')
    .option('-q, --quiet', 'print only the image name')
    .action(async (name: string, opts: { platform?: string; quiet?: boolean }, cmd) => {
      const { pullCmd } = await import('../registry.js');
      setExitCode(cmd, await pullCmd(ctx, ctx.root(cmd), name, opts));
    });
};
