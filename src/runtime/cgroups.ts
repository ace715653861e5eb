/**
 * The cgroups of one RUN when wharf makes them itself: crun on a host with cgroup v1 controllers
 * (legacy or hybrid) runs with `--cgroup-manager=disabled` (launcher.ts says why), so wharf does
 * what runc's cgroupfs manager did for the step's config.json: a dir of the step's own under the
 * pids, memory and devices hierarchies with its limits and the device allow list, joined by the
 * launcher before it execs crun (the container inherits them), removed when the step is over.
 *
 *   const cg = createRunCgroups(runCgroupName(id), { pids, memoryBytes, allDevices })
 *   spawn(launcher, [...cg.tasksFiles, '--', 'crun', ...]); ...; await cg.remove()
 *
 * crun's own monitor process joins them too (it forks the container): one process of the pids
 * limit and ~2 MB of the memory limit go to it, where runc keeps its own out.
 *
 * Dirs are named `wharf-<pid of wharf>-<container id>` at the top of each hierarchy (where runc put
 * `/<container id>`), so a later wharf can tell those of a killed one (removeLeftoverCgroups).
 */
import { mkdirSync, readFileSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readdirQuiet, UserError } from '../util/index.js';

export interface RunCgroups {
  /**
   * The v1 `tasks` files the single-threaded launcher writes `0` to: that moves only the writing
   * thread, which the kernel does without its threadgroup lock. Writing a pid to `cgroup.procs`
   * takes that lock for writing and waits out an RCU grace period: 5–30 ms of every RUN here.
   */
  readonly tasksFiles: readonly string[];
  /** Removes the dirs once the step's processes are gone (waits up to 2 s for them to exit). */
  remove(): Promise<void>;
}

export interface RunCgroupLimits {
  readonly pids?: number;
  readonly memoryBytes?: number;
  /** Every device allowed (an insecure step); otherwise runc's default allow list. */
  readonly allDevices: boolean;
}

/** `unified`: cgroup v2 only (crun manages it itself); `legacy`: v1 controllers (also hybrid). */
export type CgroupMode = 'unified' | 'legacy';

const CGROUP2_SUPER_MAGIC = 0x63677270;

let mode: CgroupMode | undefined;
export function hostCgroupMode(): CgroupMode {
  if (mode === undefined) {
    try {
      mode = statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC ? 'unified' : 'legacy';
    } catch {
      mode = 'legacy';
    }
  }
  return mode;
}

const CONTROLLERS = ['pids', 'memory', 'devices'] as const;
type Controller = (typeof CONTROLLERS)[number];

let mounts: Map<Controller, string> | undefined;
/** Where each v1 controller we use is mounted (/proc/self/mountinfo, read once). */
function hierarchies(): Map<Controller, string> {
  if (!mounts) {
    mounts = new Map();
    let info = '';
    try {
      info = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      // no /proc: no hierarchies, and createRunCgroups says what is missing
    }
    for (const line of info.split('\n')) {
      // id parent maj:min root mountpoint options [optional...] - fstype source superoptions
      const [pre, post] = line.split(' - ');
      if (!pre || !post) continue;
      const [fstype, , superOptions] = post.split(' ');
      if (fstype !== 'cgroup' || !superOptions) continue;
      const mountPoint = unescapeMountPath(pre.split(' ')[4] ?? '');
      const opts = superOptions.split(',');
      for (const c of CONTROLLERS) if (opts.includes(c) && !mounts.has(c)) mounts.set(c, mountPoint);
    }
  }
  return mounts;
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The name of a step's cgroup dirs: owner pid first, for the sweep. */
export function runCgroupName(containerId: string, ownerPid = process.pid): string {
  return `wharf-${ownerPid}-${containerId}`;
}
const NAME = /^wharf-(\d+)-wharf-[0-9a-z-]+$/;

/**
 * runc's default device rules (libcontainer/specconv AllowedDevices): mknod of any node, and
 * read/write/mknod of /dev/null, random, full, tty, zero, urandom, the pts, ptmx and tun.
 */
const ALLOWED_DEVICES = [
  'c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:8 rwm', 'c 1:7 rwm', 'c 5:0 rwm', 'c 1:5 rwm', 'c 1:9 rwm',
  'c 136:* rwm', 'c 5:2 rwm', 'c 10:200 rwm',
];

/** Makes the step's cgroup dirs and writes its limits; all synchronous (each call is microseconds). */
export function createRunCgroups(name: string, limits: RunCgroupLimits): RunCgroups {
  const dirs = createDirs(name, limits);
  let gone: Promise<void> | undefined;
  return {
    tasksFiles: dirs.map((d) => join(d, 'tasks')),
    remove: () => (gone ??= removeDirs(dirs)),
  };
}

/** The step's dir under each controller, with its limits and device rules. */
function createDirs(name: string, limits: RunCgroupLimits): string[] {
  const h = hierarchies();
  const missing = CONTROLLERS.filter((c) => !h.has(c));
  if (missing.length) {
    throw new UserError('runtime.cgroup-missing', `the ${missing.join(', ')} cgroup controller${missing.length > 1 ? 's are' : ' is'} not mounted under /sys/fs/cgroup, so RUN limits cannot be enforced with crun`,
      'build with --runtime runc, or mount the cgroup v1 controllers');
  }
  const dirs: string[] = [];
  try {
    for (const c of CONTROLLERS) {
      const dir = join(h.get(c)!, name);
      mkdirSync(dir);
      dirs.push(dir);
      if (c === 'pids' && limits.pids !== undefined) writeFileSync(join(dir, 'pids.max'), String(limits.pids));
      if (c === 'memory' && limits.memoryBytes !== undefined) writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      if (c === 'devices' && !limits.allDevices) {
        writeFileSync(join(dir, 'devices.deny'), 'a');
        for (const rule of ALLOWED_DEVICES) writeFileSync(join(dir, 'devices.allow'), rule);
      }
    }
  } catch (e) {
    for (const d of dirs) rmdirQuiet(d);
    throw new UserError('runtime.cgroup-failed', `could not set up the RUN's cgroup ${name}: ${(e as Error).message}`, 'build with --runtime runc');
  }
  return dirs;
}

/**
 * A build's step cgroups, kept for its next step with the same limits rather than made and
 * removed for each: the devices allow list alone is a dozen writes (0.4-0.6 ms a RUN with the
 * mkdirs and rmdirs). Not with a memory limit: a reused memory cgroup stays charged with the page
 * cache of the steps before, which the limit would count against the next one. Not for an
 * insecure step: it may write its cgroups' settings (its /sys/fs/cgroup is writable).
 */
export interface CgroupPool {
  /** Cgroups for one step; their remove() gives them back when the step's processes are all gone. */
  take(limits: RunCgroupLimits, name: () => string): RunCgroups;
  /** Removes the cgroups given back; those given back later are removed there and then. */
  close(): Promise<void>;
}

export function cgroupPool(): CgroupPool {
  const free = new Map<string, string[][]>();
  let closed = false;
  return {
    take(limits, name) {
      const key = limits.memoryBytes === undefined && !limits.allDevices ? `${limits.pids ?? ''}` : undefined;
      const dirs = (key !== undefined && free.get(key)?.pop()) || createDirs(name(), limits);
      let gone: Promise<void> | undefined;
      return {
        tasksFiles: dirs.map((d) => join(d, 'tasks')),
        remove: () => (gone ??= (async () => {
          if (key === undefined || closed || !dirs.every(isEmptyCgroup)) return removeDirs(dirs);
          const kept = free.get(key) ?? [];
          kept.push(dirs);
          free.set(key, kept);
        })()),
      };
    },
    async close() {
      closed = true;
      const all = [...free.values()].flat();
      free.clear();
      await Promise.all(all.map((dirs) => removeDirs(dirs)));
    },
  };
}

function isEmptyCgroup(dir: string): boolean {
  try {
    return readFileSync(join(dir, 'tasks'), 'utf8') === '';
  } catch {
    return false;
  }
}

function rmdirQuiet(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * A cgroup dir can go once its last process has exited (and been reaped): waits up to `ms` for
 * that. A step's own dirs are empty when its runtime exits, unless something of it is still dying.
 */
async function removeDirs(dirs: readonly string[], ms = 2000): Promise<void> {
  let left = dirs.filter((d) => !rmdirQuiet(d));
  const end = Date.now() + ms;
  for (let wait = 5; left.length && Date.now() < end; wait = Math.min(wait * 2, 200)) {
    await new Promise((r) => setTimeout(r, wait));
    left = left.filter((d) => !rmdirQuiet(d));
  }
}

/**
 * Removes the cgroup dirs of wharf processes that are gone (kill -9), after SIGKILL to anything
 * still in them (the step's processes outlive a killed wharf); returns how many were removed.
 */
export async function removeLeftoverCgroups(alive: (pid: number) => boolean): Promise<number> {
  if (hostCgroupMode() !== 'legacy') return 0;
  const dirs: string[] = [];
  for (const mount of hierarchies().values()) {
    for (const name of readdirQuiet(mount)) {
      const m = NAME.exec(name);
      if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) dirs.push(join(mount, name));
    }
  }
  for (const dir of dirs) {
    let procs = '';
    try {
      procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
    } catch {
      continue;
    }
    for (const pid of procs.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  // Killed processes of a loaded machine can take seconds to exit.
  await removeDirs(dirs, 10_000);
  return dirs.filter((d) => readdirQuiet(d).length === 0).length;
}
