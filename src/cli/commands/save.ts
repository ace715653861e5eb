import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('save')
    .description('Write images to one tar that is both an OCI layout and a docker archive')
    .argument('<names...>', 'images to save')
    .option('-o, --output <file>', 'the archive to write (default: stdout, which must not be a terminal)')
    .action(async (names: string[], opts: { output?: string }, cmd) => {
      const { saveCmd } = await import('../archive-commands.js');
      setExitCode(cmd, await saveCmd(ctx, ctx.root(cmd), names, opts.output));
    });
};
