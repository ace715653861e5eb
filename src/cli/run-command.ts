// Implementation of `wharf run`, loaded lazily by its command module: flags, env and printing.
import { UserError } from '../util/index.js';
import { run as runContainer } from '../api/index.js';
import { withRuntimeCache, type CliContext } from './context.js';
import { interruptSignal } from './interrupt.js';
import { networkMode } from './container-commands.js';

export interface RunOptions {
  readonly env: string[];
  readonly user?: string;
  readonly workdir?: string;
  readonly network: string;
  readonly runtime: string;
}

export async function run(ctx: CliContext, root: string, image: string, cmd: string[], opts: RunOptions): Promise<number> {
  const network = networkMode(opts.network);
  if (!['auto', 'wharf', 'crun', 'runc'].includes(opts.runtime)) throw new UserError('cli.bad-flag', `--runtime ${opts.runtime} is not supported`, 'use --runtime auto, wharf, crun or runc');
  const interrupt = interruptSignal(() => new Error('interrupted'));
  try {
    const { exitCode } = await runContainer(
      {
        root,
        image,
        cmd,
        env: opts.env.map((e) => (e.includes('=') ? e : `${e}=${ctx.env[e] ?? ''}`)),
        ...(opts.user !== undefined ? { user: opts.user } : {}),
        ...(opts.workdir !== undefined ? { workdir: opts.workdir } : {}),
        network,
        runtime: opts.runtime as 'auto' | 'wharf' | 'runc' | 'crun',
        ...(ctx.env.PATH !== undefined ? { searchPath: ctx.env.PATH } : {}),
        ...withRuntimeCache(ctx),
      },
      { onStdout: (l) => ctx.stdout.write(l + '\n'), onStderr: (l) => ctx.stderr.write(l + '\n'), signal: interrupt.signal },
    );
    return exitCode;
  } catch (e) {
    if (interrupt.signal.aborted) return interrupt.exitCode;
    throw e;
  } finally {
    interrupt.dispose();
  }
}
