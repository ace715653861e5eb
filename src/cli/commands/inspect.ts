import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('inspect')
    .description('Show docker-style JSON for images (Id, RepoTags, Created, Config, RootFS, Size)')
    .argument('<name...>', 'image name or ID')
    .action(async (names: string[], _opts, cmd) => {
      const { inspect } = await import('../image-commands.js');
      setExitCode(cmd, await inspect(ctx, ctx.root(cmd), names));
    });
};
