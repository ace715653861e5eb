import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';

/**
 * What every command gets from the CLI wiring. Only src/cli reads process.env or exits; commands
 * receive what they need from here and return an exit code.
 */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** The store root: `--root`, else WHARF_ROOT, else /var/lib/wharf (root) or ~/.local/share/wharf. */
  root(cmd: Command): string;
}

/**
 * Where crun's probe verdict and compiled seccomp filters are kept across commands: WHARF_RUNTIME_CACHE,
 * else /run/wharf/runtime (host-wide, root-only, cleared at boot: the answers are the host's, and a
 * build with a fresh store root gains from them too); `off` (or empty): none.
 */
export function runtimeCacheDir(ctx: CliContext): string | undefined {
  const v = ctx.env.WHARF_RUNTIME_CACHE;
  if (v === undefined) return '/run/wharf/runtime';
  return v === '' || v === 'off' ? undefined : resolve(ctx.cwd, v);
}

/** `runtimeCacheDir` as an option to spread. */
export function withRuntimeCache(ctx: CliContext): { runtimeCacheDir?: string } {
  const dir = runtimeCacheDir(ctx);
  return dir !== undefined ? { runtimeCacheDir: dir } : {};
}

export function createCliContext(stdout: NodeJS.WriteStream, stderr: NodeJS.WriteStream): CliContext {
  const env = process.env;
  return {
    env,
    cwd: process.cwd(),
    stdout,
    stderr,
    root(cmd: Command): string {
      const opts = cmd.optsWithGlobals() as { root?: string };
      if (opts.root) return resolve(opts.root);
      if (env.WHARF_ROOT) return resolve(env.WHARF_ROOT);
      if (process.getuid?.() === 0) return '/var/lib/wharf';
      return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'wharf');
    },
  };
}

/** Signature of a command module: adds its subcommand to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/** Lets a command set the process exit code without calling process.exit itself. */
export function setExitCode(cmd: Command, exitCode: number): void {
  (cmd as unknown as { wharfExitCode?: number }).wharfExitCode = exitCode;
}
