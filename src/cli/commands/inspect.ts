import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('inspect')
    .description('Show docker-style JSON for images (Id, RepoTags, Created, Config, RootFS, Size)')
    .argument('<name...>', 'image name or ID')
    .option('-f, --format <template>', "a Go template per image, e.g. '{{.Id}}' or '{{json .Config.Env}}'")
    .action(async (names: string[], opts: { format?: string }, cmd) => {
      const { inspect } = await import('../image-commands.js');
      setExitCode(cmd, await inspect(ctx, ctx.root(cmd), names, opts.format));
    });
};
