/**
 * Milliseconds since the process started, as performance.now() gives them (the same origin within
 * a fraction of a ms, so a caller's performance.now() still counts from the same start), without
 * loading perf_hooks: the first performance.now() of a process loads ten of Node's modules, 0.6 ms
 * of every command (bench/README.md, "Speed, tenth round").
 */
export function nowMs(): number {
  return process.uptime() * 1000;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * `new Date(ms).toISOString()`, made from the UTC fields: V8 sets up the local time zone at a
 * process's first toISOString (a read of /etc/localtime, ~0.2 ms of every build that runs a step;
 * bench/README.md, "Speed, eleventh round"), which a UTC time never needs. Throws as toISOString
 * does for a time out of range.
 */
export function isoTime(ms: number = Date.now()): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) throw new RangeError('Invalid time value');
  const y = d.getUTCFullYear();
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : (y < 0 ? '-' : '+') + pad(Math.abs(y), 6);
  return `${year}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}Z`;
}
