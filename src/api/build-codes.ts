/** The code of the UserError for a bad --no-cache-filter (thrown by build.ts; its own module so the CLI can test for it without loading the build). */
export const BAD_CACHE_FILTER = 'build.bad-cache-filter';
/** The code of the UserError for `push` with no name to push to (a usage error to the CLI). */
export const NOTHING_TO_PUSH = 'build.nothing-to-push';
/** The code of a `bench` option that makes no sense (a usage error to the CLI). */
export const BENCH_USAGE = 'bench.usage';
