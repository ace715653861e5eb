import { setExitCode, type RegisterCommand } from '../context.js';
import type { ServeFlags } from '../serve-command.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('serve')
    .description('Serve the Docker Engine API (v1.41: builds and images) for the docker CLI, dockerode and other clients')
    .option('--host <address>', 'unix:///PATH.sock or tcp://HOST:PORT (loopback only, unless --tlsverify)', 'unix:///run/wharf.sock')
    .option('--tls', 'serve TCP over TLS (--tlscert, --tlskey), without checking clients')
    .option('--tlsverify', 'serve TCP over TLS and require client certificates signed by --tlscacert')
    .option('--tlscacert <file>', 'PEM CA that client certificates must chain to')
    .option('--tlscert <file>', "PEM certificate of the server")
    .option('--tlskey <file>', "PEM private key of the server's certificate")
    .option('--max-body <size>', 'largest request body (build context, archive to load), e.g. 2g', '4g')
    .option('--grace <seconds>', 'on SIGTERM, how long running requests may take to finish', '60')
    .action(async (opts: ServeFlags, cmd) => {
      const { serveCmd } = await import('../serve-command.js');
      setExitCode(cmd, await serveCmd(ctx, ctx.root(cmd), opts));
    });
};
