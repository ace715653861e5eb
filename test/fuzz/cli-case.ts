/**
 * One run of the real CLI with a deadline: started in its own process group, killed by its PID
 * (the group) when the deadline passes, and judged by its exit code and stderr.
 */
import { spawn } from 'node:child_process';
import type { Verdict } from './report.js';

export interface CliRun {
  readonly code: string;
  readonly verdict: Verdict;
  readonly ms: number;
  readonly stderr: string;
}

const STDERR_KEEP = 64 * 1024;
const TRACE = /internal error|^\s+at .+:\d+:\d+\)?$|^(Type|Range|Reference|Syntax)Error\b/m;
const ERROR_LINE = /(^|\n)(error: |[^\n]*:\d+:\d+: error: |[^\n]*: error: )/;

export function judge(code: number | null, signal: string | null, stderr: string, timedOut: boolean): Verdict {
  if (timedOut) return 'hang';
  if (TRACE.test(stderr)) return 'trace';
  if (code === 0) return 'accepted';
  if ((code === 1 || code === 2) && ERROR_LINE.test(stderr)) return 'refused';
  // Killed by a signal on its own (OOM, SIGSEGV in the native addon) counts as a crash.
  if (signal) return 'trace';
  return 'unclear';
}

export function runCli(bin: string, args: readonly string[], opts: { timeoutMs: number; cwd?: string }): Promise<CliRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    // The head and the tail of stderr: a refusal's error line can follow megabytes of warnings.
    let head = '';
    let tail = '';
    let timedOut = false;
    child.stderr!.on('data', (d: Buffer) => {
      const s = d.toString('utf8');
      if (head.length < STDERR_KEEP) head += s;
      else tail = (tail + s).slice(-STDERR_KEEP);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, opts.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      const stderr = tail ? `${head}\n…\n${tail}` : head;
      const verdict = judge(code, timedOut ? null : signal, stderr, timedOut);
      resolve({ code: timedOut ? 'timeout' : code === null ? `signal ${signal}` : String(code), verdict, ms, stderr });
    });
  });
}

/** Runs `task(i)` for every i in [0, n) with at most `jobs` at once. */
export async function pool(n: number, jobs: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, n) }, worker));
}
