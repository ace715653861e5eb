import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('load')
    .description('Load images from a docker archive, an OCI archive or an OCI layout directory')
    .option('-i, --input <path>', 'archive file or OCI layout directory (default or -: stdin)')
    .option('-t, --tag <name>', 'name for an image the archive leaves unnamed')
    .action(async (opts: { input?: string; tag?: string }, cmd) => {
      const { loadCmd } = await import('../archive-commands.js');
      setExitCode(cmd, await loadCmd(ctx, ctx.root(cmd), opts.input, opts.tag));
    });
};
