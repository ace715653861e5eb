import { setExitCode, type RegisterCommand } from '../context.js';
import { collect } from '../registry-options.js';

export const register: RegisterCommand = (program, ctx) => {
  program
    .command('login')
    .description('Log in to a registry (stores credentials in docker\'s config.json or credential helper)')
    .argument('<server>', 'registry host[:port]')
    .option('-u, --username <user>', 'username')
    .option('-p, --password <password>', 'refused: use --password-stdin')
    .option('--password-stdin', 'read the password from stdin')
    .option('--insecure-registry <host>', 'allow plain http to this registry (repeatable)', collect)
    .action(async (server: string, opts, cmd) => {
      const { loginCmd: login } = await import('../login-command.js');
      setExitCode(cmd, await login(ctx, server, opts, process.stdin));
    });
  program
    .command('logout')
    .description('Remove the stored credentials for a registry')
    .argument('<server>', 'registry host[:port]')
    .action(async (server: string, _opts, cmd) => {
      const { logoutCmd: logout } = await import('../login-command.js');
      setExitCode(cmd, await logout(ctx, server));
    });
};
