import { setExitCode, type RegisterCommand } from '../context.js';

const collect = (v: string, acc: string[]) => [...acc, v];

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('run')
    .description("Run a command in a throwaway container from a stored image (its changes are discarded)")
    .argument('<image>', 'image name or name:tag')
    .argument('[command...]', "command and arguments (default: the image's Entrypoint and Cmd)")
    .option('--rm', 'remove the container afterwards (always the case; accepted for docker compatibility)')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (KEY alone takes it from this shell)', collect, [])
    .option('-u, --user <user>', 'user[:group] or uid[:gid] to run as')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('--network <mode>', 'none (loopback only) or host', 'none')
    .option('--runtime <name>', 'OCI runtime: auto, runc or crun', 'auto')
    .passThroughOptions()
    .action(async (image: string, command: string[], opts: { env: string[]; user?: string; workdir?: string; network: string; runtime: string }, cmd) => {
      const { run } = await import('../run-command.js');
      setExitCode(cmd, await run(ctx, ctx.root(cmd), image, command, opts));
    });
};
