/**
 * The floor of a CPU-bound scenario (issue 20: `wide` cold within 10% of it): the RUN commands
 * themselves, without any builder, in a chroot of the same busybox rootfs. Each stage's RUNs run
 * one after another in a copy of the rootfs of its own; the CPU time (user + system) of every
 * command is summed. No builder can finish before that CPU time spread over the cores, nor before
 * its longest stage ran alone:
 *
 *   floor = max(Σ CPU / cores, longest stage's wall time)
 *
 * The stages are also run bare side by side (as many at once as there are cores) and that wall time
 * reported: what a scheduler with no overhead at all would get here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export interface Floor {
  /** Σ user + system seconds of every RUN command. */
  readonly cpuS: number;
  readonly cores: number;
  /** Wall seconds of the longest stage run alone. */
  readonly longestStageS: number;
  /** max(cpuS / cores, longestStageS). */
  readonly floorS: number;
  /** Wall seconds of every stage run bare, `cores` at a time. */
  readonly bareParallelS: number;
}

/** The RUN commands of each stage of a generated Dockerfile (stages start at FROM). */
export function stageRuns(dockerfile: string): string[][] {
  const stages: string[][] = [];
  for (const line of dockerfile.split('\n')) {
    if (/^FROM\s/i.test(line)) stages.push([]);
    else if (/^RUN\s/i.test(line)) stages.at(-1)?.push(line.replace(/^RUN\s+/i, ''));
  }
  return stages.filter((s) => s.length > 0);
}

interface Timed {
  readonly wallS: number;
  readonly cpuS: number;
}

/** A fresh copy of `rootfs` for one stage (made before any timing starts). */
function stageRoot(rootfs: string, work: string): string {
  const dir = mkdtempSync(join(work, 'stage-'));
  cpSync(rootfs, dir, { recursive: true, verbatimSymlinks: true });
  // The devices a container's /dev has that the commands read and write.
  mkdirSync(join(dir, 'dev'), { recursive: true });
  for (const [name, minor] of [['null', 3], ['zero', 5], ['urandom', 9]] as const) {
    const made = spawnSync('mknod', ['-m', '666', join(dir, 'dev', name), 'c', '1', String(minor)]);
    if (made.status !== 0) throw new Error(`mknod /dev/${name} in ${dir}: ${made.stderr}`);
  }
  return dir;
}

/** `sh -c` of each command in a chroot of `dir`, one after another. */
async function runStage(dir: string, commands: readonly string[]): Promise<Timed> {
  let cpuS = 0;
  const started = process.hrtime.bigint();
  for (const command of commands) cpuS += await timedChroot(dir, command);
  return { wallS: Number(process.hrtime.bigint() - started) / 1e9, cpuS };
}

/** CPU seconds of `chroot dir /bin/sh -c command`, as GNU time reports them for the whole tree. */
function timedChroot(dir: string, command: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn('/usr/bin/time', ['-f', '%U %S', 'chroot', dir, '/bin/sh', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => {
      const m = /(\d+\.\d+) (\d+\.\d+)\s*$/.exec(err);
      if (code !== 0 || !m) reject(new Error(`bare run of \`${command}\` failed (${code}): ${err.trim().slice(-300)}`));
      else resolve(Number(m[1]) + Number(m[2]));
    });
  });
}

/** Runs `tasks` with at most `limit` at once. */
async function pool<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}

/** One measurement of the floor of `dockerfile`'s RUN steps on `rootfs` (root needed: chroot). */
export async function measureFloor(dockerfile: string, rootfs: string, tmp: string): Promise<Floor> {
  const stages = stageRuns(dockerfile);
  const cores = os.cpus().length;
  const work = mkdtempSync(join(tmp, 'floor-'));
  try {
    const alone: Timed[] = [];
    for (const s of stages) alone.push(await runStage(stageRoot(rootfs, work), s));
    const cpuS = alone.reduce((a, t) => a + t.cpuS, 0);
    const longestStageS = Math.max(...alone.map((t) => t.wallS));
    const roots = stages.map(() => stageRoot(rootfs, work));
    const started = process.hrtime.bigint();
    await pool(stages.map((s, i) => () => runStage(roots[i]!, s)), cores);
    const bareParallelS = Number(process.hrtime.bigint() - started) / 1e9;
    return { cpuS, cores, longestStageS, floorS: Math.max(cpuS / cores, longestStageS), bareParallelS };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
