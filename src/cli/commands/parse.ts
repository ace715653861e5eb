import type { Command } from 'commander';
import { setExitCode, type RegisterCommand } from '../context.js';

/** `wharf parse [-f Dockerfile] [--format json|buildkit]`: print the syntax tree or the errors. */
export const register: RegisterCommand = (program, ctx) => {
  program
    .command('parse')
    .description('parse a Dockerfile and print its syntax tree')
    .option('-f, --file <path>', 'the Dockerfile to read (`-` for stdin)', 'Dockerfile')
    .option('--format <format>', 'output: json (the AST with line/col ranges) or buildkit (BuildKit AST dump)', 'json')
    .action(async (opts: { file: string; format: string }, cmd: Command) => {
      const { runParse } = await import('./parse-run.js');
      setExitCode(cmd, await runParse(ctx, opts));
    });
};
