/**
 * The crun probe's verdict (oci-executor.ts detectOciRuntime), kept in the host cache
 * (host-cache.ts) so that only the first wharf process after a change runs the probe container.
 * It is keyed by everything that can change the answer: the crun binary and the launcher that
 * starts it (path, size, times, inode), the host's cgroup layout, the kernel's boot id (a reboot
 * may bring another cgroup layout or kernel) and the probe's own version. A verdict that turns out
 * wrong anyway (crun then fails the way the probe looks for) is removed and the probe run again.
 *
 *   const key = probeKey(crunPath, launcher, cgroupMode)   undefined: not identifiable, no cache
 *   readVerdict(cache, key) → 'crun' | 'runc' | undefined;  writeVerdict(cache, key, v);  forgetVerdict(cache)
 */
import { readFileSync } from 'node:fs';
import { fileIdentity, readEntry, removeEntry, sha256, writeEntry, type HostCache } from './host-cache.js';

/** Bumped whenever the probe itself (what it runs, what it accepts) changes. */
const PROBE_VERSION = 'crun-probe-v1';
const ENTRY = 'crun-probe';

export type Verdict = 'crun' | 'runc';

/**
 * The key of the probe's answer for `crunPath` started through `launcher` (a path; undefined: no
 * launcher, or unshare(1) and sh), or undefined when a part of it cannot be read.
 */
export function probeKey(crunPath: string, launcher: string | undefined, cgroupMode: string): string | undefined {
  const crun = fileIdentity(crunPath);
  const launch = launcher === undefined ? 'unshare+sh' : fileIdentity(launcher);
  let boot: string;
  try {
    boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
  if (!crun || !launch || !boot) return undefined;
  return sha256([PROBE_VERSION, crun, launch, cgroupMode, boot].join('\0'));
}

export function readVerdict(cache: HostCache, key: string): Verdict | undefined {
  const raw = readEntry(cache, ENTRY, 1024);
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw.toString('utf8')) as { key?: unknown; runtime?: unknown };
    return v.key === key && (v.runtime === 'crun' || v.runtime === 'runc') ? v.runtime : undefined;
  } catch {
    return undefined;
  }
}

export function writeVerdict(cache: HostCache, key: string, runtime: Verdict): void {
  writeEntry(cache, ENTRY, Buffer.from(JSON.stringify({ key, runtime })));
}

export function forgetVerdict(cache: HostCache): void {
  removeEntry(cache, ENTRY);
}
