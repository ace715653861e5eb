import { mkdtempSync, statfsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pidAlive, type Store } from '../store/index.js';
import { removeLeftoverCgroups, removeLeftoverContainers } from '../runtime/index.js';
import { lstatQuiet, readdirQuiet } from '../util/index.js';

/**
 * Where a command's OCI executor keeps the runtime's state (`runc --root`) and its bundles: a dir
 * of its own on the host's shared tmpfs when there is one, else under the store's tmp/.
 *
 * Why: every RUN makes a bundle (config.json, hosts, hostname, resolv.conf, the runtime's log) and
 * runc makes a state dir with a fifo and a state file; that is ten new inodes a RUN, which cost
 * ~0.8 ms each on this project's CI disk and nothing on tmpfs (`runc run` of `true`: 31 → 26 ms).
 * /run is where runc keeps its state by default, but it is not a tmpfs everywhere; /dev/shm is.
 *
 * The dir is named `wharf-<pid>.runtime.<random>` and made 0700 (mkdtemp); the command removes it
 * at exit, and dirs of processes that died (kill -9) are removed by the next command that opens
 * the store (reapDeadRuntimes), after the containers left running in them are deleted.
 */
export async function runtimeStateDir(store: Store): Promise<string> {
  const tmpfs = sharedTmpfs();
  if (tmpfs) {
    try {
      return mkdtempSync(join(tmpfs, `${PREFIX}${process.pid}.runtime.`));
    } catch {
      // full or read-only: the store's tmp/ works everywhere
    }
  }
  return store.tempDir('runtime');
}

const SHARED_TMPFS = '/dev/shm';
const PREFIX = 'wharf-';
const TMPFS_MAGIC = 0x01021994;
const OWN_DIR = /^wharf-(\d+)\.runtime\./;

/** The host's shared tmpfs (/dev/shm), or undefined where there is none. */
export function sharedTmpfs(): string | undefined {
  try {
    return statfsSync(SHARED_TMPFS).type === TMPFS_MAGIC ? SHARED_TMPFS : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Deletes the containers a killed wharf left running, and removes its state dirs on the shared
 * tmpfs; in the store's tmp/ (`<pid>.runtime.*`) only the containers, as the store's sweep removes
 * the dir with the overlay mounts the containers held. Only our own dirs (same uid), never a link.
 * Then the cgroup dirs wharf made for crun's steps: always looked for (three directory reads on a
 * cgroup v1 host), as another wharf (an older one, or one whose sweep found the dirs still busy)
 * may have removed the dead state dir first.
 */
export async function reapDeadRuntimes(storeTmp: string): Promise<void> {
  const tmpfs = sharedTmpfs();
  const dead = [...(tmpfs ? deadDirs(tmpfs, OWN_DIR) : []), ...deadDirs(storeTmp, STORE_DIR)];
  for (const dir of dead) {
    await removeLeftoverContainers(dir);
    if (tmpfs && dir.startsWith(tmpfs + '/')) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
  await removeLeftoverCgroups(pidAlive);
}

const STORE_DIR = /^(\d+)\.runtime\./;

function deadDirs(parent: string, pattern: RegExp): string[] {
  const uid = process.getuid?.();
  const out: string[] = [];
  for (const name of readdirQuiet(parent)) {
    const m = pattern.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    const p = join(parent, name);
    const st = lstatQuiet(p);
    if (st?.isDirectory() && st.uid === uid) out.push(p);
  }
  return out;
}
