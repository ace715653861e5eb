import { UserError } from '../util/index.js';

/**
 * SOURCE_DATE_EPOCH (reproducible-builds.org): seconds since the Unix epoch; unset or empty is
 * "not given". `from` names where the value came from, for the error.
 */
export function parseSourceDateEpoch(v: string | undefined, from = 'SOURCE_DATE_EPOCH'): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new UserError('env.source-date-epoch', `${from}=${v} is not a number of seconds`, 'set it to a Unix time, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)');
  return Number(v);
}

/**
 * As BuildKit: the build arg SOURCE_DATE_EPOCH, when given, wins over the caller's value (the
 * environment's, for the CLI). build() applies it, so `docker build --build-arg` through the
 * server gets it too.
 */
export function buildSourceDateEpoch(
  buildArgs: ReadonlyMap<string, string> | Readonly<Record<string, string>> | undefined,
  fallback: number | undefined | (() => number | undefined),
): number | undefined {
  const arg = buildArgs instanceof Map ? buildArgs.get('SOURCE_DATE_EPOCH') : Object.hasOwn(buildArgs ?? {}, 'SOURCE_DATE_EPOCH') ? (buildArgs as Readonly<Record<string, string>>)['SOURCE_DATE_EPOCH'] : undefined;
  if (arg !== undefined) return parseSourceDateEpoch(arg, '--build-arg SOURCE_DATE_EPOCH');
  // Read only when no build arg names it: a bad environment value the arg overrides is no error.
  return typeof fallback === 'function' ? fallback() : fallback;
}
