// Implementation of `wharf run`, loaded lazily by its command module.
import { rm } from 'node:fs/promises';
import { UserError } from '../util/index.js';
import { loadImage } from '../image/index.js';
import { openApiStore as openCliStore } from '../api/index.js';
import { openSnapshots } from '../snapshot/index.js';
import { createOciExecutor, type NetworkMode } from '../runtime/index.js';
import { layersOf, runInContainer } from '../ops/index.js';
import type { CliContext } from './context.js';
import { interruptSignal } from './interrupt.js';
import { runtimeStateDir } from '../api/index.js';

export interface RunOptions {
  readonly env: string[];
  readonly user?: string;
  readonly workdir?: string;
  readonly network: string;
  readonly runtime: string;
}

export async function run(ctx: CliContext, root: string, image: string, cmd: string[], opts: RunOptions): Promise<number> {
  if (opts.network !== 'none' && opts.network !== 'host') {
    throw new UserError('cli.bad-flag', `--network ${opts.network} is not supported`, 'use --network none (loopback only, the default) or --network host');
  }
  if (!['auto', 'runc', 'crun'].includes(opts.runtime)) throw new UserError('cli.bad-flag', `--runtime ${opts.runtime} is not supported`, 'use --runtime auto, runc or crun');
  const store = await openCliStore(root);
  const img = await loadImage(store, image);
  const c = img.config.config ?? {};
  const args = [...(c.Entrypoint ?? []), ...(cmd.length ? cmd : (c.Cmd ?? []))];
  if (!args.length) throw new UserError('run.no-command', `image ${image} has no Entrypoint or Cmd`, `give a command: wharf run ${image} sh -c '...'`);
  const env = [...(c.Env ?? []), ...opts.env.map((e) => (e.includes('=') ? e : `${e}=${ctx.env[e] ?? ''}`))];

  const stateDir = await runtimeStateDir(store);
  const interrupt = interruptSignal(() => new Error('interrupted'));
  try {
    const executor = await createOciExecutor({ stateDir, runtime: opts.runtime as 'auto' | 'runc' | 'crun', ...(ctx.env.PATH !== undefined ? { searchPath: ctx.env.PATH } : {}) });
    const status = await runInContainer(
      { store, snapshots: openSnapshots(root, store), executor },
      layersOf(img),
      { args, env, user: opts.user ?? c.User, cwd: opts.workdir ?? (c.WorkingDir || '/'), network: opts.network as NetworkMode },
      [],
      { stdout: (l) => ctx.stdout.write(l + '\n'), stderr: (l) => ctx.stderr.write(l + '\n') },
      interrupt.signal,
    );
    return status.exitCode;
  } catch (e) {
    if (interrupt.signal.aborted) return interrupt.exitCode;
    throw e;
  } finally {
    interrupt.dispose();
    await rm(stateDir, { recursive: true, force: true });
  }
}
