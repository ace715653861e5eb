import type { Command } from 'commander';
import { setExitCode, type RegisterCommand } from '../context.js';
import { addBuildOptions, collect, type BenchFlags } from '../build-options.js';

/**
 * `wharf bench [build options] CONTEXT`: "is my Dockerfile cache-friendly?" Builds the context
 * repeatedly, each run a separate `wharf build` process timed by the wall clock, and reports hits,
 * time per step and how the context was read.
 */
export const register: RegisterCommand = (program, ctx) => {
  const cmd = program
    .command('bench')
    .description('build a context repeatedly and report wall time, cache hits, time per step and context hashing')
    .argument('<context>', 'context directory');
  addBuildOptions(cmd)
    .option('--runs <n>', 'counted builds, after one warm-up build', '5')
    .option('--mode <mode>', 'cold (build cache of this build emptied before each run, base images kept), hit (everything cached) or change (--change files rewritten before each run)', 'hit')
    .option('--change <path>', 'change mode: a file, relative to the context, given new content before each run and restored at the end (repeatable)', collect, [])
    .option('--json', 'print one JSON document instead of tables')
    .option('--report <file.html>', 'write an HTML page with the runs side by side and each run\'s cache graph, timeline and context counters')
    .option('--check-reproducible', 'then build every step twice more with the same cache keys (--no-cache-filter, one SOURCE_DATE_EPOCH) and name the first step of each stage whose layers differ')
    .action(async (context: string, opts: BenchFlags, cmd: Command) => {
      const { runBench } = await import('../bench-command.js');
      setExitCode(cmd, await runBench(ctx, ctx.root(cmd), context, opts));
    });
};
