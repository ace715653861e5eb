/**
 * Commands the harness runs, and the cleanup of everything it started. Every cleanup is
 * registered as soon as its resource exists and runs once, in reverse order, on normal exit, on
 * an error and on Ctrl-C / SIGTERM; processes are stopped by their own PID, never by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

type Cleanup = { name: string; fn: () => Promise<void> | void };
const cleanups: Cleanup[] = [];
const running = new Set<ChildProcess>();
let cleaning: Promise<void> | null = null;

export function onCleanup(name: string, fn: () => Promise<void> | void): void {
  cleanups.push({ name, fn });
}

/** True once cleanup has begun: the runner stops starting builds. */
export function stopping(): boolean {
  return cleaning !== null;
}

export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of running) c.kill('SIGKILL');
    while (cleanups.length) {
      const c = cleanups.pop()!;
      try {
        await c.fn();
      } catch (e) {
        process.stderr.write(`bench: cleanup ${c.name} failed: ${(e as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}

/** Ctrl-C and SIGTERM stop the builds in flight and run every cleanup before exiting. */
export function installSignalHandlers(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping what was started\n`);
      void cleanupAll().then(() => process.exit(130));
    });
  }
}

export interface CommandResult {
  readonly status: number;
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to its end, timing it from spawn to exit; output is kept, not shown. A variable
 * given as undefined in `env` is removed from the child's environment.
 */
export function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
    const child = spawn(cmd, args, { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = (status: number) => {
      running.delete(child);
      resolve({ status, ms: Number(process.hrtime.bigint() - start) / 1e6, stdout, stderr });
    };
    child.on('error', (e) => {
      stderr += e.message;
      done(-1);
    });
    child.on('close', (code, signal) => done(code ?? (signal ? 128 : -1)));
  });
}

/** Like run, but a failure is an Error carrying the command's stderr. */
export async function must(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  const r = await run(cmd, args, env);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  return r;
}

/** Unmounts whatever is still mounted under `dir`, deepest first (buildah's overlay driver leaves its graph root bind-mounted). */
export function unmountUnder(dir: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((p): p is string => !!p && (p === dir || p.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length);
  for (const p of points) spawnSync('umount', ['-l', p], { stdio: 'ignore' });
}

/** Busy and total CPU time of the whole machine so far, from /proc/stat (clock ticks). */
function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle, iowait
  return { busy: total - idle, total };
}

/**
 * Waits until the machine is quiet: a 100 ms window with under 10% of its CPU time busy, or
 * `maxMs`. A builder's daemon goes on after its build returns (BuildKit's cleanup of its
 * containers and mounts, containerd's GC): without this, that work ran on the next build's clock.
 */
export async function quiesce(maxMs = 5000): Promise<number> {
  const start = Date.now();
  let last = cpuTimes();
  while (Date.now() - start < maxMs) {
    await new Promise((r) => setTimeout(r, 100));
    const now = cpuTimes();
    const busy = (now.busy - last.busy) / Math.max(1, now.total - last.total);
    last = now;
    if (busy < 0.1) break;
  }
  return Date.now() - start;
}
