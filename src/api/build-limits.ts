// `wharf build`'s flags for what a RUN step may do and use: --allow, --ulimit, --shm-size,
// --memory, --pids-limit. Parsed here, handed to the engine as values.
import type { Entitlement } from '../plan/index.js';
import type { ResourceLimits, Ulimit } from '../runtime/index.js';
import { err, ok, type Result } from '../util/index.js';
import { parseSize } from './parse-size.js';

/**
 * plan's ENTITLEMENTS, named here: importing plan's value initialised the planner (and compiled
 * the Dockerfile lexers, ~7 ms) in every `wharf pull`, which reaches the library through the same
 * index as a build. The type checks below fail when plan's list changes.
 */
const ENTITLEMENTS = ['network.host', 'security.insecure'] as const satisfies readonly Entitlement[];
type Unnamed = Exclude<Entitlement, (typeof ENTITLEMENTS)[number]>;
const allNamed: [Unnamed] extends [never] ? true : Unnamed = true;
void allNamed;

export { parseSize };

export interface LimitFlags {
  readonly allow: readonly string[];
  readonly ulimit: readonly string[];
  readonly shmSize?: string;
  readonly memory?: string;
  readonly pidsLimit?: string;
  readonly network: string;
}

export interface RunPolicy {
  readonly allowed: ReadonlySet<Entitlement>;
  readonly limits: ResourceLimits;
}

/**
 * The pids limit of a RUN step unless `--pids-limit` says otherwise. Docker and BuildKit set none,
 * but then one fork bomb in a Dockerfile takes every pid of the host (32768 on a default Linux)
 * and nothing else on it can fork. 4096 processes and threads per step is twice podman's default
 * and far above what package managers and parallel compilers use; `--pids-limit -1` lifts it.
 */
export const DEFAULT_PIDS_LIMIT = 4096;

/** Docker's ulimit names (go-units), each an RLIMIT_<NAME>. */
const ULIMITS = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

export function parseRunPolicy(f: LimitFlags): Result<RunPolicy, string> {
  const allowed = new Set<Entitlement>();
  for (const a of f.allow.flatMap((x) => x.split(','))) {
    const name = a.trim();
    if (!(ENTITLEMENTS as readonly string[]).includes(name)) return err(`--allow ${a}: use ${ENTITLEMENTS.join(' or ')} (repeat --allow for both)`);
    allowed.add(name as Entitlement);
  }
  // As buildx: asking for the host network on the command line grants it to RUN --network=host too.
  if (f.network === 'host') allowed.add('network.host');

  const ulimits: Ulimit[] = [];
  for (const u of f.ulimit) {
    const parsed = parseUlimit(u);
    if (!parsed.ok) return parsed;
    const i = ulimits.findIndex((x) => x.name === parsed.value.name);
    if (i >= 0) ulimits.splice(i, 1); // the last one given wins, as in docker
    ulimits.push(parsed.value);
  }
  const limits: { -readonly [K in keyof ResourceLimits]: ResourceLimits[K] } = { ulimits };
  if (f.shmSize !== undefined) {
    const n = parseSize(f.shmSize);
    if (n === undefined || n <= 0) return err(`--shm-size ${f.shmSize}: give a size such as 64m, 1g or 512k (bytes if no unit)`);
    limits.shmBytes = n;
  }
  if (f.memory !== undefined) {
    const n = parseSize(f.memory);
    // Below Docker's 6 MiB minimum a container cannot even start its init.
    if (n === undefined || n < 6 * 1024 * 1024) return err(`--memory ${f.memory}: give a size of at least 6m, such as 512m or 2g (bytes if no unit)`);
    limits.memoryBytes = n;
  }
  const pids = f.pidsLimit === undefined ? DEFAULT_PIDS_LIMIT : /^-?\d+$/.test(f.pidsLimit.trim()) ? Number(f.pidsLimit) : NaN;
  if (Number.isNaN(pids) || pids < -1) return err(`--pids-limit ${f.pidsLimit}: give a number of processes, or -1 (or 0) for no limit`);
  if (pids > 0) limits.pids = pids;
  return ok({ allowed, limits });
}

/** `nofile=1024`, `nofile=1024:2048` (soft:hard); -1 is unlimited. */
function parseUlimit(spec: string): Result<Ulimit, string> {
  const form = `--ulimit ${spec}: write --ulimit NAME=SOFT[:HARD], e.g. --ulimit nofile=1024:2048`;
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(spec.trim());
  if (!m) return err(form);
  const name = m[1]!;
  if (!ULIMITS.includes(name)) return err(`--ulimit ${spec}: unknown limit ${name}; use one of ${ULIMITS.join(', ')}`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft < -1 || hard < -1) return err(form);
  const rank = (n: number) => (n === -1 ? Infinity : n);
  if (rank(soft) > rank(hard)) return err(`--ulimit ${spec}: the soft limit ${soft} is above the hard limit ${hard}`);
  return ok({ name, soft, hard });
}
