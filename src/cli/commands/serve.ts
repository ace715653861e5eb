import { setExitCode, type RegisterCommand } from '../context.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('serve')
    .description('Serve the Docker Engine API (v1.41: builds and images) for the docker CLI, dockerode and other clients')
    .option('--host <address>', 'unix:///PATH.sock or tcp://127.0.0.1:PORT (loopback only)', 'unix:///run/wharf.sock')
    .option('--max-body <size>', 'largest request body (build context, archive to load), e.g. 2g', '4g')
    .option('--grace <seconds>', 'on SIGTERM, how long running requests may take to finish', '60')
    .action(async (opts: { host: string; maxBody: string; grace: string }, cmd) => {
      const { serveCmd } = await import('../serve-command.js');
      setExitCode(cmd, await serveCmd(ctx, ctx.root(cmd), opts));
    });
};
