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
