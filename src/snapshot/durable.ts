/**
 * When a snapshot can be trusted after the machine went down. Snapshots are written without fsync
 * (unpacked layers, and the upper dirs COPY and WORKDIR write without a mount, direct-upper.ts;
 * an overlay's umount syncs its upper file system, a RUN's among them): a kill -9 loses nothing of
 * them (the page cache survives), a power loss can leave one with empty or missing files under
 * its name. So each snapshot records the boot it was made in and when, and after a syncfs of the
 * store's file system the snapshot store notes, per boot, the time that syncfs started
 * (`snapshots/synced/<boot id>`). A snapshot from another boot is trusted only when a syncfs of
 * its boot started after it was made; otherwise it is removed and unpacked again from its blob
 * (blobs are fsynced). Overlays are not mounted `volatile` (no sync at umount): tried, and on a
 * quiet machine the RUNs after the first were 13–20 ms slower each (bench/README.md).
 *
 * The markers need no fsync: a lost or torn one only makes snapshots untrusted (unpacked again).
 * A clock that jumps between a snapshot and the syncfs errs the same way, or is harmless.
 *
 * An overlay's umount is such a syncfs (of its upper dir's whole file system), and every RUN ends
 * with one: a RUN's snapshot counts as made when its umount began (its files were all written
 * before), and when nothing was installed after the last umount began, that umount covers the
 * build and the end-of-build sync is not needed (store.ts, `flush`).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeAddon, replaceFileSync } from '../util/index.js';

/** The dir of per-boot sync markers, inside the snapshots dir (never a chain ID). */
export const SYNCED_DIR = 'synced';

/** What a snapshot's record says of when it was made (absent in records older than this). */
export interface MadeIn {
  readonly boot?: string;
  /** Date.now() when it was installed. */
  readonly madeAt?: number;
}

/** What a boot id looks like (it also names a marker file, so nothing else is taken). */
const BOOT_ID = /^[0-9a-f-]{1,64}$/;

let bootId: string | undefined;

/** This boot's id ('' where the kernel does not say: then every snapshot is trusted, as before). */
export function currentBoot(): string {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = '';
    }
    if (!BOOT_ID.test(bootId)) bootId = '';
  }
  return bootId;
}

/** Whether a snapshot made as `made` says is known to be on disk. */
export function madeDurable(snapshotsDir: string, made: MadeIn): boolean {
  const boot = currentBoot();
  if (!made.boot || !boot || made.boot === boot) return true;
  if (!BOOT_ID.test(made.boot) || typeof made.madeAt !== 'number') return false;
  return syncedAt(snapshotsDir, made.boot) >= made.madeAt;
}

function syncedAt(snapshotsDir: string, boot: string): number {
  try {
    const n = Number(readFileSync(join(snapshotsDir, SYNCED_DIR, boot), 'utf8').trim());
    return Number.isFinite(n) ? n : -1;
  } catch {
    return -1;
  }
}

/**
 * syncfs(2) of the file system `snapshotsDir` is on (`sync -f`), then this boot's marker moves to
 * when it started, unless another process noted a later one. Never rejects: a failed sync leaves
 * the marker as it was. With `background`, a detached shell does both and nobody waits: under
 * load a syncfs can take 200 ms here, and nothing of the build's result depends on it (the marker
 * is written only once the sync is done, so an early exit or a crash leaves it behind, not ahead).
 */
export async function syncSnapshots(snapshotsDir: string, opts: { readonly background?: boolean } = {}): Promise<void> {
  const boot = currentBoot();
  if (!boot) return;
  const started = Date.now();
  const dir = join(snapshotsDir, SYNCED_DIR);
  const marker = join(dir, boot);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return; // no marker can be written: this boot's snapshots count as unsynced after a reboot
  }
  if (opts.background) {
    // /bin/sh by its path: the spawn waits (a vfork) while the child tries each dir of PATH in turn
    // (nine here, 0.2 ms).
    const argv = ['/bin/sh', '-c', SYNC_SCRIPT, 'sh', snapshotsDir, marker, String(started)];
    try {
      // Through the addon a vfork (~0.3 ms), where Node's spawn forks its whole address space
      // (3-4 ms at the end of a build whose last step wrote without a mount).
      const native = nativeAddon();
      if (native?.spawnDetached) {
        native.spawnDetached(argv);
        return;
      }
    } catch {
      // Node's spawn below
    }
    const c = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore' });
    c.on('error', () => undefined);
    c.unref();
    return;
  }
  const ok = await new Promise<boolean>((resolve) => {
    const c = spawn('sync', ['-f', snapshotsDir], { stdio: 'ignore' });
    c.on('error', () => resolve(false));
    c.on('close', (code) => resolve(code === 0));
  });
  if (ok) noteSynced(snapshotsDir, started);
}

/**
 * A syncfs of the snapshots' file system that started at `startedAt` has completed (this one's,
 * or an overlay's umount): this boot's marker moves there unless it is already later.
 */
export function noteSynced(snapshotsDir: string, startedAt: number): void {
  const boot = currentBoot();
  if (!boot) return;
  try {
    const dir = join(snapshotsDir, SYNCED_DIR);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (syncedAt(snapshotsDir, boot) < startedAt) replaceFileSync(join(dir, boot), `${startedAt}\n`);
  } catch {
    // no marker: this boot's snapshots count as unsynced after a reboot
  }
}

/** The same as the foreground path, for `sh -c SCRIPT sh DIR MARKER STARTED`. */
const SYNC_SCRIPT = [
  'sync -f "$1" || exit 1',
  'old=$(cat "$2" 2>/dev/null) || old=-1',
  'case $old in ""|*[!0-9]*) old=-1;; esac',
  '[ "$old" -lt "$3" ] || exit 0',
  'printf "%s\\n" "$3" > "$2.tmp-$$" && mv -f "$2.tmp-$$" "$2" || rm -f "$2.tmp-$$"',
].join('\n');
