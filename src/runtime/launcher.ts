/**
 * How crun is started on a host with cgroup v1 controllers (legacy or hybrid).
 *
 * crun refuses a hybrid host ("cgroups in hybrid mode not supported, drop all controllers from
 * cgroupv2") as soon as it looks at /sys/fs/cgroup/unified. So it runs in a mount namespace of its
 * own where that mount is detached (the host's mounts are untouched: every mount there is made a
 * slave first), with `--cgroup-manager=disabled`: wharf makes the step's cgroups (cgroups.ts) and
 * the launcher joins them before it execs crun, so the container inherits them.
 *
 * The launcher is native/wharf_launch.c when the build compiled it (one exec more, 1–4 ms here);
 * without a C compiler, unshare(1) and sh do the same (5–10 ms more).
 */
import { nativeLauncher } from '../util/index.js';

/** argv (program first) that joins the cgroups of `tasksFiles`, hides the v2 mount and runs `command`. */
export function launchCommand(tasksFiles: readonly string[], command: readonly string[]): string[] {
  const native = nativeLauncher();
  if (native) return [native, ...tasksFiles, '--', ...command];
  return ['unshare', '--mount', '--propagation', 'slave', '--', 'sh', '-c', SCRIPT, 'wharf-launch', ...tasksFiles, '--', ...command];
}

const SCRIPT = [
  'while [ "$1" != -- ]; do echo 0 > "$1" || exit 125; shift; done; shift',
  'if grep -q " /sys/fs/cgroup/unified " /proc/self/mounts; then umount -l /sys/fs/cgroup/unified || exit 125; fi',
  'exec "$@"',
].join('\n');
