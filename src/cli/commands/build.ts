import { Option, type Command } from 'commander';
import { setExitCode, type RegisterCommand } from '../context.js';
import { addBuildOptions, collect, type BuildFlags } from '../build-options.js';

export const register: RegisterCommand = (program, ctx) => {
  const cmd = program.command('build').description('build an image from a Dockerfile and a context directory').argument('<context>', 'context directory, or - for a context tar (or a bare Dockerfile) on stdin');
  addBuildOptions(cmd)
    .option('--progress <mode>', 'auto, tty, plain, json or quiet', 'auto')
    .option('-q, --quiet', 'print only the image ID on stdout (--progress quiet)')
    .option('-o, --output <spec>', 'also write the result: type=oci|docker|tar|local,dest=PATH; type=image,name=NAME[,push=true]; type=registry[,name=NAME]')
    .option('--push', 'push the image to its registry under every -t name once it is built (gzip layers, docker schema2)')
    .option('--iidfile <file>', 'write the image ID here')
    .option('--explain', 'after the build, advice from its cache misses against the previous build of the same target (each item names the Dockerfile lines: move an ARG/ENV, copy manifests first, .dockerignore entries)')
    .option('--metadata-file <file>', 'write build metadata (digests, steps, cache hits, context counters) here as JSON')
    .option('--cache-to <spec>', 'export the build cache: type=local,dest=DIR or type=registry,ref=HOST/REPO:TAG, with mode=min (default) or max; or type=inline (records in the image config) (repeatable)', collect, [])
    .option('--cache-from <spec>', 'use an exported build cache: type=local,src=DIR or type=registry,ref=HOST/REPO:TAG (repeatable)', collect, [])
    .option('--report <file.html>', 'write an HTML page with the cache graph, the timeline and the context counters of the build (failed builds too)')
    .addOption(new Option('--report-json <file>').hideHelp())
    .action(async (context: string, opts: BuildFlags & { quiet?: boolean }, cmd: Command) => {
      const { runBuild } = await import('../build-command.js');
      setExitCode(cmd, await runBuild(ctx, ctx.root(cmd), context, opts.quiet ? { ...opts, progress: 'quiet' } : opts));
    });
};
