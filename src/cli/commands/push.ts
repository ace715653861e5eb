import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('push')
    .description('Upload an image from the store to a registry')
    .argument('<name>', 'image name[:tag]')
    .option('-q, --quiet', 'print only the image name')
    .action(async (name: string, opts: { quiet?: boolean }, cmd) => {
      const { pushCmd } = await import('../registry.js');
      setExitCode(cmd, await pushCmd(ctx, ctx.root(cmd), name, opts));
    });
};
