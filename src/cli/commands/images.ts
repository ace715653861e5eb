import { Option } from 'commander';
import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('images')
    .description('List tagged images (REPOSITORY, TAG, IMAGE ID, CREATED, SIZE)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--digests', 'show the registry digest (DIGEST) of pulled images')
    .action(async (opts: { format: 'table' | 'json'; digests?: boolean }, cmd) => {
      const { images } = await import('../image-commands.js');
      setExitCode(cmd, await images(ctx, ctx.root(cmd), opts.format, opts.digests === true));
    });
};
