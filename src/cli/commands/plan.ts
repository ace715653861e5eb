import { Option } from 'commander';
import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('plan')
    .description('show the build graph of a Dockerfile: stages and steps after ARG/ENV expansion')
    .argument('[context]', 'build context directory', '.')
    .option('-f, --file <path>', 'the Dockerfile (default: <context>/Dockerfile)')
    .option('--target <stage>', 'plan only the stages this stage needs')
    .option('--platform <os/arch[/variant]>', 'target platform (TARGETPLATFORM and friends; default: this host)')
    .option('--build-arg <key=value>', 'set a build-time variable (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'dot']).default('text'))
    .option('--cache', 'with --format dot: fill each step green when a cache record exists for it now (in --root), orange when it would run')
    .action(async (context: string, opts: { file?: string; target?: string; platform?: string; buildArg?: string[]; format: 'text' | 'json' | 'dot'; cache?: boolean }, cmd) => {
      const { runPlan } = await import('../plan-command.js');
      setExitCode(cmd, await runPlan(ctx, { context, ...opts, buildArg: opts.buildArg ?? [], root: ctx.root(cmd) }));
    });
};
