import { readdirQuiet, lstatQuiet } from '../util/index.js';
import { join } from 'node:path';
import { runtimeCommand, type OciRuntimeName } from './oci-executor.js';

const RUNTIMES: readonly OciRuntimeName[] = ['runc', 'crun'];

/**
 * Kills and deletes every container in the state dir of a wharf that died without cleaning up
 * (kill -9): its `runc run` and the step's processes outlive it, holding the step's overlay
 * rootfs and a cgroup (crun's, started through the launcher, use cgroups wharf made: cgroups.ts
 * removeLeftoverCgroups sweeps those). `delete --force` sends SIGKILL to the container and removes its state and
 * cgroup. Only for state dirs no live process uses; returns how many containers were deleted.
 */
export async function removeLeftoverContainers(stateDir: string): Promise<number> {
  let n = 0;
  for (const runtime of RUNTIMES) {
    const rootDir = join(stateDir, runtime);
    for (const id of readdirQuiet(rootDir)) {
      if (!lstatQuiet(join(rootDir, id))?.isDirectory()) continue;
      if (await runtimeCommand({ runtime, rootDir }, ['delete', '--force', id])) n++;
    }
  }
  return n;
}
