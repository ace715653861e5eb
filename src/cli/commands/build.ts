import type { Command } from 'commander';
import { setExitCode, type RegisterCommand } from '../context.js';

const collect = (v: string, acc: string[]) => [...acc, v];

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('build')
    .description('build an image from a Dockerfile and a context directory')
    .argument('<context>', 'context directory, or - for a context tar (or a bare Dockerfile) on stdin')
    .option('-t, --tag <name:tag>', 'name the result (repeatable)', collect, [])
    .option('-f, --file <path>', 'Dockerfile (default: <context>/Dockerfile; - reads it from stdin; with context - a path inside the tar)')
    .option('--build-arg <K=V>', 'set a build argument (repeatable)', collect, [])
    .option('--target <stage>', 'build this stage instead of the last')
    .option('--label <K=V>', 'add a label to the image (repeatable)', collect, [])
    .option('--network <mode>', 'network for RUN steps without --network: none (default) or host', 'none')
    .option('--no-cache-filter <stage>', 'run the steps of this stage (name or index) even when cached (repeatable)', collect, [])
    .option('--no-cache', 'run every step even when a cached result exists')
    .option('--progress <mode>', 'auto, tty, plain, json or quiet', 'auto')
    .option('-o, --output <spec>', 'also write the result: type=oci|docker|tar|local,dest=PATH')
    .option('--iidfile <file>', 'write the image ID here')
    .option('--metadata-file <file>', 'write build metadata (digests, steps, cache hits) here as JSON')
    .action(async (context: string, opts: BuildFlags, cmd: Command) => {
      const { runBuild } = await import('../build-command.js');
      setExitCode(cmd, await runBuild(ctx, ctx.root(cmd), context, opts));
    });
};

export interface BuildFlags {
  readonly tag: string[];
  readonly file?: string;
  readonly buildArg: string[];
  readonly target?: string;
  readonly label: string[];
  readonly network: string;
  readonly cache: boolean;
  /** `--no-cache-filter` values (commander names a `--no-` option after what follows it). */
  readonly cacheFilter: string[];
  readonly progress: string;
  readonly output?: string;
  readonly iidfile?: string;
  readonly metadataFile?: string;
}
