/**
 * `wharf login` and `wharf logout`: docker's own credential file or helper, so `docker login` and
 * wharf share credentials. The password is read from stdin only; one on the command line would be
 * visible in `ps` and the shell history, so it is refused.
 */
import { login, loginDomain, logout } from '../api/index.js';
import { UserError } from '../util/index.js';
import type { CliContext } from './context.js';
import { dockerConfigDir, registryOptions } from './registry-options.js';

export interface LoginFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  insecureRegistry?: string[];
}

const MAX_PASSWORD = 64 << 10;

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stdin as AsyncIterable<Buffer | string>) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    size += b.length;
    if (size > MAX_PASSWORD) throw new UserError('registry.password-too-long', `the password on stdin is over ${MAX_PASSWORD} bytes`, 'pipe only the password into --password-stdin');
    chunks.push(b);
  }
  // docker trims the trailing newline(s) that `echo` and files add.
  return Buffer.concat(chunks).toString('utf8').replace(/[\r\n]+$/, '');
}

export async function loginCmd(ctx: CliContext, server: string, flags: LoginFlags, stdin: NodeJS.ReadableStream): Promise<number> {
  if (flags.password !== undefined) {
    throw new UserError('registry.password-flag', 'a password on the command line is refused: it would show in `ps` and the shell history', `pipe it in instead: \`echo "$PASSWORD" | wharf login -u USER --password-stdin ${server}\``);
  }
  const domain = loginDomain(server);
  if (!flags.passwordStdin) throw new UserError('registry.password-stdin', 'wharf login reads the password from stdin only', `run \`wharf login -u USER --password-stdin ${domain}\` and pipe the password in`);
  if (!flags.username) throw new UserError('registry.username', '--password-stdin needs a username', `run \`wharf login -u USER --password-stdin ${domain}\``);
  const password = await readStdin(stdin);
  if (!password) throw new UserError('registry.password-empty', 'the password read from stdin is empty', 'pipe the password into --password-stdin');
  await login({ server: domain, username: flags.username, password, registry: registryOptions(ctx, flags) });
  ctx.stdout.write('Login Succeeded\n');
  return 0;
}

export async function logoutCmd(ctx: CliContext, server: string): Promise<number> {
  const { domain, found } = await logout(server, { configDir: dockerConfigDir(ctx) });
  ctx.stdout.write(found ? `Removing login credentials for ${domain}\n` : `Not logged in to ${domain}\n`);
  return 0;
}
