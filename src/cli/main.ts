import { Command, CommanderError } from 'commander';
import { createCliContext, type CliContext } from './context.js';
import { commands } from './commands/index.js';
import { isUserError, nativeAddon, setNativeAddon, setNativeLauncher, type NativeAddon } from '../util/index.js';
import { DiagnosticError, formatDiagnostic } from '../diag/index.js';
import { WHARF_VERSION } from './version.js';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { interruptRunning } from './interrupt.js';
import { outputStream } from './stdio.js';

/** Exit codes: 0 success, 1 build or user error, 2 usage error. */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/**
 * dist/native/wharf_native.node and wharf-launch beside this CLI (scripts/build-native.mjs), found from the script
 * node runs: bin/wharf.js, or dist/src/cli/main.js itself.
 */
function wireNativeAddon(script: string | undefined): void {
  let dir: string;
  try {
    dir = dirname(realpathSync(script ?? ''));
  } catch {
    return;
  }
  const nativeDirs = [join(dir, '..', 'dist', 'native'), join(dir, '..', '..', 'native')];
  const path = nativeDirs.map((d) => join(d, 'wharf_native.node')).find((p) => existsSync(p));
  if (path) setNativeAddon(() => createRequire(path)(path) as NativeAddon);
  setNativeLauncher(nativeDirs.map((d) => join(d, 'wharf-launch')).find((p) => existsSync(p)));
}

/**
 * A reader that closes the pipe early (`wharf images | head -1`) is not an error: output stops
 * quietly, as with any Unix tool, and the command still exits 0. Later writes are dropped, and a
 * command that is still producing (a `run`, a build) is interrupted so it cleans up and ends
 * with 141, the status of a process SIGPIPE killed.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    stream.write = () => true;
    interruptRunning(141);
  });
}

/**
 * Registers the commands up to the one `args` names: the options of all ~20 commands take ~3 ms to
 * declare, at every start (bench/README.md, "Start-up snapshot"). Without a command name, or with
 * one that none registers (`help`, a typo, which commander answers with the list), all are.
 */
function registerCommands(program: Command, ctx: CliContext, args: string[]): void {
  // The first bare word is the command: the program takes no arguments, and only --root a value.
  const word = args.find((a, i) => /^[a-z]+$/.test(a) && args[i - 1] !== '--root');
  for (const register of commands) {
    register(program, ctx);
    if (word && program.commands.some((c) => c.name() === word || c.aliases().includes(word))) return;
  }
}

const stdout = outputStream(1);
const stderr = outputStream(2);

async function main(argv: string[]): Promise<number> {
  wireNativeAddon(argv[1]);
  quietOnClosedPipe(stdout);
  quietOnClosedPipe(stderr);
  const ctx = createCliContext(stdout, stderr);
  const program = new Command('wharf')
    .description('A daemonless Dockerfile build engine')
    .option('--root <dir>', 'store root (default: $WHARF_ROOT, /var/lib/wharf as root, ~/.local/share/wharf otherwise)')
    .version(WHARF_VERSION, '--version', 'print the version')
    .showHelpAfterError('(run `wharf --help` for usage)')
    .exitOverride();
  program.configureOutput({
    writeOut: (s) => ctx.stdout.write(s),
    writeErr: (s) => ctx.stderr.write(s),
  });
  // Program options are positional (so `wharf run IMAGE ls -l` passes `-l` to the container), so
  // every command repeats --root: `wharf --root D images` and `wharf images --root D` both work.
  program.enablePositionalOptions();
  registerCommands(program, ctx, argv.slice(2));
  for (const c of program.commands) {
    c.exitOverride();
    if (!c.options.some((o) => o.long === '--root')) c.option('--root <dir>', 'store root (see wharf --help)');
  }

  let code = EXIT_OK;
  program.hook('postAction', (_root, action) => {
    const c = (action as unknown as { wharfExitCode?: number }).wharfExitCode;
    if (typeof c === 'number') code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'node' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
      return EXIT_USAGE;
    }
    return reportError(e, ctx.stderr);
  }
}

function reportError(e: unknown, stderr: NodeJS.WritableStream): number {
  if (e instanceof DiagnosticError) {
    for (const d of e.diagnostics) stderr.write(formatDiagnostic(d) + '\n');
    return EXIT_ERROR;
  }
  if (isUserError(e)) {
    stderr.write(`error: ${e.message}\n`);
    if (e.hint) stderr.write(`hint: ${e.hint}\n`);
    return EXIT_ERROR;
  }
  stderr.write(`wharf: internal error (this is a bug, please report it):\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return EXIT_ERROR;
}

/**
 * Ends the process with _exit once the last 'exit' handler ran (this one is added last): what Node
 * does after the handlers (stopping its platform threads, freeing the heap, atexit handlers) was
 * ~0.7 ms of every command (bench/README.md, "Speed, tenth round"), and a finished command needs
 * none of it but the one thing the addon does too: fds 0-2 put back as they were at start
 * (O_NONBLOCK, terminal modes), which bin/wharf.js had it note. Without that note exitNow does
 * nothing and Node exits as always. Not when Node was asked to write something in that teardown:
 * a CPU or heap profile, V8 coverage.
 */
function exitAfterHandlers(): void {
  const native = nativeAddon();
  const writesAtExit = process.execArgv.some((a) => /^--(cpu-prof|heap-prof|prof)/.test(a)) || /--(cpu-prof|heap-prof|prof)/.test(process.env.NODE_OPTIONS ?? '') || process.env.NODE_V8_COVERAGE !== undefined;
  if (native?.exitNow && !writesAtExit) process.once('exit', (code) => native.exitNow!(code));
}

main(process.argv).then(
  (c) => {
    process.exitCode = c;
    // The command has finished everything it does (it returns only then). Left to itself, Node
    // would wait for V8's background compile tasks before exiting: 70-200 ms after the last output
    // of a `wharf pull` (bench/README.md, "wharf pull of an image already present"). Unless output
    // is still queued for a slow reader, exit now ('exit' handlers, like the code cache's, still run).
    if (!stdout.writableLength && !stderr.writableLength) {
      exitAfterHandlers();
      process.exit(c);
    }
  },
  (e) => {
    stderr.write(String(e instanceof Error ? e.stack : e) + '\n');
    process.exitCode = EXIT_ERROR;
  },
);
