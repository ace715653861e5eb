import type { Command } from 'commander';
import { setExitCode, type CliContext, type RegisterCommand } from '../context.js';

const collect = (v: string, acc: string[]) => [...acc, v];
const impl = () => import('../container-commands.js');

/**
 * `wharf container …` and the docker-style short forms (`wharf ps`, `wharf exec`, `wharf cp`,
 * `wharf commit`, …). Each subcommand is defined once and added both under `container` and, where
 * docker has the short form, at the top level.
 */
interface RunCliOptions {
  env: string[]; user?: string; workdir?: string; network: string; runtime: string; name?: string; rm?: boolean; detach?: boolean; interactive?: boolean; tty?: boolean;
}

type Define = (parent: Command, ctx: CliContext, name?: string) => Command;

const processOptions = (c: Command) => c
  .option('-e, --env <KEY=VALUE>', 'set an environment variable (KEY alone takes it from this shell)', collect, [])
  .option('-u, --user <user>', 'user[:group] or uid[:gid] to run as')
  .option('-w, --workdir <dir>', 'working directory inside the container')
  .option('--network <mode>', 'bridge (outbound NAT through slirp4netns, as RUN steps), none (loopback only) or host', 'bridge');

const defines: Record<string, Define> = {
  run: (parent, ctx, name = 'run') => processOptions(parent.command(name)
    .description('Run a command in a new container; it stays (stopped, with its changes) unless --rm')
    .argument('<image>', 'image name or name:tag')
    .argument('[command...]', "command and arguments (default: the image's Entrypoint and Cmd)")
    .option('--name <name>', 'name the container')
    .option('--rm', 'remove the container when it exits (its changes are discarded)')
    .option('-d, --detach', 'run in the background and print the container ID')
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'allocate a terminal (with -i)')
    .option('--runtime <name>', 'what runs --rm runs: auto, wharf, crun or runc (kept containers always use runc: its freezer pauses them for commit)', 'auto'))
    .passThroughOptions()
    .action(async (image: string, command: string[], opts: RunCliOptions, cmd) => {
      // --rm without a terminal or -d is the throwaway run it always was (no record at all).
      if (opts.rm && !opts.tty && !opts.detach && !opts.interactive && opts.name === undefined) {
        const { run } = await import('../run-command.js');
        setExitCode(cmd, await run(ctx, ctx.root(cmd), image, command, opts));
        return;
      }
      setExitCode(cmd, await (await impl()).run(ctx, ctx.root(cmd), image, command, opts));
    }),

  create: (parent, ctx, name = 'create') => processOptions(parent.command(name)
    .description('Create a working container from an image (its changes are kept until rm); prints its ID')
    .argument('<image>', 'image name or name:tag')
    .argument('[command...]', "command and arguments (default: the image's Entrypoint and Cmd)")
    .option('--name <name>', 'name the container'))
    .passThroughOptions()
    .action(async (image: string, command: string[], opts, cmd) => setExitCode(cmd, await (await impl()).create(ctx, ctx.root(cmd), image, command, opts))),

  exec: (parent, ctx, name = 'exec') => parent.command(name)
    .description("Run a command in a running container's namespaces")
    .argument('<container>', 'container name or ID')
    .argument('<command...>', 'command and arguments')
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'allocate a terminal')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable', collect, [])
    .option('-u, --user <user>', 'user[:group] or uid[:gid] to run as')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .passThroughOptions()
    .action(async (c: string, command: string[], opts, cmd) => setExitCode(cmd, await (await impl()).exec(ctx, ctx.root(cmd), c, command, opts))),

  start: (parent, ctx, name = 'start') => parent.command(name)
    .description('Start stopped containers in the background')
    .argument('<container...>', 'container names or IDs')
    .action(async (names: string[], _o, cmd) => setExitCode(cmd, await (await impl()).start(ctx, ctx.root(cmd), names))),

  stop: (parent, ctx, name = 'stop') => parent.command(name)
    .description('Stop running containers: SIGTERM (or the image\'s StopSignal), then SIGKILL after the timeout')
    .argument('<container...>', 'container names or IDs')
    .option('-t, --time <seconds>', 'seconds to wait before SIGKILL', '10')
    .action(async (names: string[], o: { time: string }, cmd) => setExitCode(cmd, await (await impl()).stop(ctx, ctx.root(cmd), names, o.time))),

  kill: (parent, ctx, name = 'kill') => parent.command(name)
    .description('Send a signal to running containers')
    .argument('<container...>', 'container names or IDs')
    .option('-s, --signal <signal>', 'signal name or number', 'KILL')
    .action(async (names: string[], o: { signal: string }, cmd) => setExitCode(cmd, await (await impl()).kill(ctx, ctx.root(cmd), names, o.signal))),

  logs: (parent, ctx, name = 'logs') => parent.command(name)
    .description("Print a detached container's output")
    .argument('<container>', 'container name or ID')
    .option('-f, --follow', 'keep printing until the container stops')
    .action(async (c: string, o: { follow?: boolean }, cmd) => setExitCode(cmd, await (await impl()).logs(ctx, ctx.root(cmd), c, o.follow === true))),

  ps: (parent, ctx, name = 'ps') => parent.command(name)
    .description('List containers (running ones; -a: all)')
    .option('-a, --all', 'show stopped containers too')
    .option('-q, --quiet', 'only IDs')
    .action(async (o: { all?: boolean; quiet?: boolean }, cmd) => setExitCode(cmd, await (await impl()).ps(ctx, ctx.root(cmd), o))),

  rm: (parent, ctx, name = 'rm') => parent.command(name)
    .description('Remove containers and their changes')
    .argument('<container...>', 'container names or IDs')
    .option('-f, --force', 'kill a running container first')
    .action(async (names: string[], o: { force?: boolean }, cmd) => setExitCode(cmd, await (await impl()).rm(ctx, ctx.root(cmd), names, o.force === true))),

  inspect: (parent, ctx, name = 'inspect') => parent.command(name)
    .description('Show containers as JSON')
    .argument('<container...>', 'container names or IDs')
    .action(async (names: string[], _o, cmd) => setExitCode(cmd, await (await impl()).inspect(ctx, ctx.root(cmd), names))),

  copy: (parent, ctx, name = 'copy') => parent.command(name)
    .description('Copy files: CONTAINER SRC DEST (host to container), CONTAINER:PATH DEST, or SRC CONTAINER:PATH; with COPY\'s path safety')
    .argument('<args...>', 'CONTAINER SRC DEST | CONTAINER:PATH DEST | SRC CONTAINER:PATH')
    .action(async (args: string[], _o, cmd) => setExitCode(cmd, await (await impl()).copy(ctx, ctx.root(cmd), args))),

  config: (parent, ctx, name = 'config') => parent.command(name)
    .description('Edit the image config the next commit of a container writes')
    .argument('<container>', 'container name or ID')
    .option('--env <KEY=VALUE>', 'set an environment variable', collect, [])
    .option('--cmd <cmd>', 'CMD: a JSON array or a shell command')
    .option('--entrypoint <cmd>', 'ENTRYPOINT: a JSON array or a shell command')
    .option('--workdir <dir>', 'WORKDIR')
    .option('--user <user>', 'USER')
    .option('--label <KEY=VALUE>', 'add a label', collect, [])
    .option('--expose <port>', 'EXPOSE a port (8080, 53/udp)', collect, [])
    .action(async (c: string, o: { env: string[]; cmd?: string; entrypoint?: string; workdir?: string; user?: string; label: string[]; expose: string[] }, cmd) => {
      const edits = { env: o.env, labels: o.label, expose: o.expose, ...(o.cmd !== undefined ? { cmd: o.cmd } : {}), ...(o.entrypoint !== undefined ? { entrypoint: o.entrypoint } : {}),
        ...(o.workdir !== undefined ? { workdir: o.workdir } : {}), ...(o.user !== undefined ? { user: o.user } : {}) };
      setExitCode(cmd, await (await impl()).config(ctx.root(cmd), c, edits));
    }),

  commit: (parent, ctx, name = 'commit') => parent.command(name)
    .description("Make an image of a container's changes (one layer on its image); prints the image ID")
    .argument('<container>', 'container name or ID')
    .argument('[name]', 'NAME[:TAG] for the image')
    .option('-m, --message <text>', 'commit message (the history entry\'s comment)')
    .option('-a, --author <name>', 'author')
    .option('-c, --change <instruction>', "apply a Dockerfile instruction to the config (CMD, ENV, …)", collect, [])
    .option('--no-pause', 'do not freeze a running container while its changes are read')
    .action(async (c: string, tag: string | undefined, o: { message?: string; author?: string; change: string[]; pause: boolean }, cmd) =>
      setExitCode(cmd, await (await impl()).commit(ctx, ctx.root(cmd), c, tag, o))),
};

/** Docker's short forms at the top level (`inspect` stays the image command there). */
const TOP_LEVEL: Record<string, string> = { run: 'run', create: 'create', exec: 'exec', start: 'start', stop: 'stop', kill: 'kill', logs: 'logs', ps: 'ps', rm: 'rm', cp: 'copy', copy: 'copy', commit: 'commit' };

export const register: RegisterCommand = (program, ctx) => {
  const group = program.command('container').description('Manage working containers (create, run, exec, copy, config, commit, …)').enablePositionalOptions();
  for (const [name, define] of Object.entries(defines)) {
    const sub = define(group, ctx, name);
    if (name === 'copy') sub.alias('cp');
    if (name === 'ps') sub.alias('ls');
  }
  group.command('__monitor', { hidden: true }).argument('<id>')
    .action(async (id: string, _o, cmd) => setExitCode(cmd, await (await impl()).monitor(ctx.root(cmd), id)));
  for (const c of group.commands) if (!c.options.some((o) => o.long === '--root')) c.option('--root <dir>', 'store root (see wharf --help)');
  for (const [alias, name] of Object.entries(TOP_LEVEL)) defines[name]!(program, ctx, alias);
};
