import { setExitCode, type RegisterCommand } from '../context.js';

const collect = (v: string, acc: string[]) => [...acc, v];

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('images')
    .description('List tagged images (REPOSITORY, TAG, IMAGE ID, CREATED, SIZE)')
    .option('--format <format>', "table, json (one object per line) or a Go template such as '{{.Repository}}:{{.Tag}}'", 'table')
    .option('-q, --quiet', 'print image IDs only')
    .option('-f, --filter <key=value>', 'reference=PATTERN or dangling=true|false (repeatable)', collect, [])
    .option('--digests', 'show the registry digest (DIGEST) of pulled images')
    .action(async (opts: { format: string; digests?: boolean; quiet?: boolean; filter: string[] }, cmd) => {
      const { images } = await import('../image-commands.js');
      setExitCode(cmd, await images(ctx, ctx.root(cmd), { format: opts.format, digests: opts.digests === true, quiet: opts.quiet === true, filters: opts.filter }));
    });
};
