/**
 * The build and run entry points, loaded when first called. Initialising build.js and run.js
 * initialises the whole engine (planner, Dockerfile lexers, ops, runtime, cache exchange): ~15–35
 * ms that `wharf pull` / `push` / `login` never use, since the CLI's registry commands, like every
 * other user, reach the library through this module's index (bench/README.md, "`wharf pull` of an
 * image already present"). In the bundle an import() stays lazy.
 */
import type * as Build from './build.js';
import type * as Run from './run.js';
import type * as Plan from './plan.js';
import type * as PlanCache from './plan-cache.js';
import type * as Containers from './containers.js';
import type * as Bench from './bench.js';

export const build: typeof Build.build = async (o, hooks) => (await import('./build.js')).build(o, hooks);
export const writeOutput: typeof Build.writeOutput = async (path, data, flag) => (await import('./build.js')).writeOutput(path, data, flag);
// `wharf bench` builds as build does, and forgets cache records and reads advice besides.
export const bench: typeof Bench.bench = async (o, hooks) => (await import('./bench.js')).bench(o, hooks);
export const run: typeof Run.run = async (o, hooks) => (await import('./run.js')).run(o, hooks);
// `wharf plan` (and --cache) needs the planner, solver and ops; containers need src/container and
// with it the runtime, layers and snapshots: as heavy, and as unused by pull/push/login.
export const plan: typeof Plan.plan = async (o) => (await import('./plan.js')).plan(o);
export const planCacheState: typeof PlanCache.planCacheState = async (o) => (await import('./plan-cache.js')).planCacheState(o);
/** The working-containers API (api/containers.ts); its types are `containers.X` from the index. */
export type ContainersApi = typeof Containers;
export const loadContainers = (): Promise<ContainersApi> => import('./containers.js');

export { BAD_CACHE_FILTER, BENCH_USAGE, NOTHING_TO_PUSH } from './build-codes.js';
