/**
 * Milliseconds since the process started, as performance.now() gives them (the same origin within
 * a fraction of a ms, so a caller's performance.now() still counts from the same start), without
 * loading perf_hooks: the first performance.now() of a process loads ten of Node's modules, 0.6 ms
 * of every command (bench/README.md, "Speed, tenth round").
 */
export function nowMs(): number {
  return process.uptime() * 1000;
}
