import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive, type Store } from '../store/index.js';
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
 * at exit, and dirs of processes that died (kill -9) are removed by the next command that makes one,
 * as the store's open sweeps its tmp/.
 */
export async function runtimeStateDir(store: Store): Promise<string> {
  const tmpfs = sharedTmpfs();
  if (tmpfs) {
    sweepDead(tmpfs);
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

/** Removes state dirs of wharf processes that are gone; only our own (same uid), never a link. */
function sweepDead(dir: string): void {
  const uid = process.getuid?.();
  for (const name of readdirQuiet(dir)) {
    const m = OWN_DIR.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    const p = join(dir, name);
    const st = lstatQuiet(p);
    if (!st?.isDirectory() || st.uid !== uid) continue;
    rmSync(p, { recursive: true, force: true });
  }
}
