// The options of `wharf build` and `wharf bench`, apart from the commands that register them and
// the modules that run them, so neither side imports the other.
import { Command } from 'commander';

/** commander accumulator for a repeatable option. */
export const collect = (v: string, acc: string[]) => [...acc, v];

/**
 * The options that decide what gets built, in one place: `wharf build` and `wharf bench` (which
 * passes them on to the builds it runs, see buildOptionArgs) both take exactly these.
 */
export function addBuildOptions(cmd: Command): Command {
  return cmd
    .option('-t, --tag <name:tag>', 'name the result (repeatable)', collect, [])
    .option('-f, --file <path>', 'Dockerfile (default: <context>/Dockerfile; - reads it from stdin; with context - a path inside the tar)')
    .option('--build-arg <K=V>', 'set a build argument (repeatable)', collect, [])
    .option('--target <stage>', 'build this stage instead of the last')
    .option('--label <K=V>', 'add a label to the image (repeatable)', collect, [])
    .option('--secret <spec>', 'expose a secret to RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR (repeatable)', collect, [])
    .option('--ssh <spec>', 'forward an ssh-agent to RUN --mount=type=ssh: default or ID=SOCKET (repeatable)', collect, [])
    .option('--network <mode>', 'network for RUN steps without --network: default (their own, with outbound access; bridge is the same), none or host', 'default')
    .option('--add-host <name:ip>', 'add a line to /etc/hosts of RUN steps (repeatable)', collect, [])
    .option('--allow <entitlement>', 'let RUN steps use network.host (RUN --network=host) or security.insecure (RUN --security=insecure) (repeatable)', collect, [])
    .option('--ulimit <name=soft[:hard]>', 'a resource limit for RUN steps, e.g. nofile=1024:2048 (repeatable)', collect, [])
    .option('--shm-size <size>', 'size of /dev/shm in RUN steps, e.g. 128m (default 64m)')
    .option('--memory <size>', 'memory limit of each RUN step, e.g. 2g (default: none)')
    .option('--pids-limit <n>', 'most processes and threads in one RUN step; -1 for none (default 4096)')
    .option('--runtime <name>', 'what runs RUN steps: auto (wharf\'s own launcher where it works, else crun, else runc), wharf, crun or runc', 'auto')
    .option('--compression <kind>', 'how new layers are stored: none (default, as docker keeps them locally), gzip or zstd', 'none')
    .option('--no-cache-filter <stage>', 'run the steps of this stage (name or index) even when cached (repeatable)', collect, [])
    .option('--no-cache', 'run every step even when a cached result exists')
    .option('--pull', 'pull every FROM image again (re-resolve its tag), even when the store has it')
    .option('--platform <os/arch[/variant]>', 'the platform FROM pulls from a multi-platform image and the image is built for: the host\'s (default) or one this machine can run');
}

/** The command-line arguments that give a `wharf build` these build option values (defaults left out). */
export function buildOptionArgs(opts: BuildOptions): string[] {
  const values = opts as unknown as Record<string, unknown>;
  const args: string[] = [];
  for (const o of addBuildOptions(new Command()).options) {
    const v = values[o.attributeName()];
    const flag = o.long!;
    if (o.negate && !o.required) {
      if (v === false) args.push(flag);
    } else if (v === true && !o.negate) {
      args.push(flag);
    } else if (Array.isArray(v)) {
      for (const x of v) args.push(flag, String(x));
    } else if (typeof v === 'string' && v !== o.defaultValue) {
      args.push(flag, v);
    }
  }
  return args;
}

export interface BuildOptions {
  readonly tag: string[];
  readonly file?: string;
  readonly buildArg: string[];
  readonly target?: string;
  readonly label: string[];
  readonly network: string;
  readonly addHost: string[];
  readonly allow: string[];
  readonly ulimit: string[];
  readonly shmSize?: string;
  readonly memory?: string;
  readonly pidsLimit?: string;
  readonly compression: string;
  /** `--runtime`: auto, wharf, crun or runc. */
  readonly runtime: string;
  readonly secret: string[];
  readonly ssh: string[];
  readonly cache: boolean;
  /** `--no-cache-filter` values (commander names a `--no-` option after what follows it). */
  readonly cacheFilter: string[];
  /** `--pull`: FROM images are pulled again even when the store has them. */
  readonly pull?: boolean;
  /** `--platform`: one platform per build, the host's or one the kernel can run. */
  readonly platform?: string;
}

export interface BuildFlags extends BuildOptions {
  readonly progress: string;
  readonly output?: string;
  /** `--push`: push every -t name after the build. */
  readonly push?: boolean;
  readonly iidfile?: string;
  readonly metadataFile?: string;
  /** `--cache-to` / `--cache-from` specs (cli/cache-options.ts). */
  readonly cacheTo?: string[];
  readonly cacheFrom?: string[];
  /** `--explain`: advice from this build's misses after the build. */
  readonly explain?: boolean;
  /** `--report FILE.html`: the graph, timeline and context counters of the build. */
  readonly report?: string;
  /** The same data as JSON (hidden: what `wharf bench --report` has each of its builds write). */
  readonly reportJson?: string;
}

export interface BenchFlags extends BuildOptions {
  readonly runs: string;
  readonly mode: string;
  readonly change: string[];
  readonly json?: boolean;
  /** `--check-reproducible`: two more builds of every step with the same keys, comparing their layers. */
  readonly checkReproducible?: boolean;
  readonly report?: string;
}
