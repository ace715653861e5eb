import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('inspect')
    .description('Show docker-style JSON for containers and images (a container first when both have the name)')
    .argument('<name...>', 'container or image name or ID')
    .option('--type <kind>', 'only look for an image or a container')
    .option('-f, --format <template>', "a Go template per image, e.g. '{{.Id}}' or '{{json .Config.Env}}'")
    .action(async (names: string[], opts: { format?: string; type?: string }, cmd) => {
      const { inspect } = await import('../image-commands.js');
      setExitCode(cmd, await inspect(ctx, ctx.root(cmd), names, opts.format, opts.type));
    });
};
