import { release } from 'node:os';
import { seccompConfig } from './seccomp.js';
import type { MountSpec, ProcessSpec, Ulimit } from './types.js';
import type { ResolvedUser } from './user.js';

/** Docker's default capability set (moby oci/defaults.go); CAP_SYS_ADMIN is deliberately absent. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const;

/** Every capability runc knows, in kernel bit order (CAP_CHOWN is bit 0). */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

/**
 * The capabilities of a CapBnd/CapEff mask from /proc/self/status: what `RUN --security=insecure`
 * gets is what wharf itself holds, as BuildKit grants its own set (a capability wharf lacks
 * would make the runtime fail to start the container).
 */
export function capabilitiesOfMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim() || '0'}`);
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** /dev/shm's size when the build gives none (Docker's default). */
export const DEFAULT_SHM_BYTES = 64 * 1024 * 1024;

/** /proc and /sys paths Docker hides (bind of /dev/null or an empty tmpfs) and makes read-only. */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
] as const;
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ConfigInput {
  readonly spec: ProcessSpec;
  readonly user: ResolvedUser;
  readonly rootfs: string;
  readonly mounts: readonly MountSpec[];
  /** Host paths of the generated files bind-mounted over /etc/hosts, /etc/resolv.conf, /etc/hostname. */
  readonly etcFiles: { readonly hosts: string; readonly resolvConf: string; readonly hostname: string };
  /** For network `default`: the prepared namespace the container joins. */
  readonly netnsPath?: string;
  /**
   * cgroup path of this container (unique per run, so limits never leak between runs). Absent:
   * wharf makes the cgroups itself (crun on a cgroup v1 host, cgroups.ts), so the config has no
   * cgroupsPath nor resources.
   */
  readonly cgroupsPath?: string;
  /**
   * On a cgroup v1 host runc and crun both leave the tmpfs that holds the container's cgroup
   * mounts writable whatever the mount's options say (the cgroup mounts in it are read-only):
   * remount it read-only.
   */
  readonly remountCgroupTmpfs?: boolean;
  /** The capabilities an insecure step gets (wharf's own bounding set); default ALL_CAPABILITIES. */
  readonly hostCapabilities?: readonly string[];
  /** For the seccomp filter; default: this host (`process.arch`, `os.release()`). */
  readonly host?: { readonly nodeArch: string; readonly kernelRelease: string };
}

type Json = Record<string, unknown>;

/** The OCI runtime-spec `config.json` for one RUN: Docker's defaults plus the step's process. */
export function buildOciConfig(input: ConfigInput): Json {
  const { spec, user } = input;
  const env = withDefaults(spec.env, user.home);
  const insecure = spec.security === 'insecure';
  const caps: string[] = insecure ? [...(input.hostCapabilities ?? ALL_CAPABILITIES)] : [...DEFAULT_CAPABILITIES];
  const host = input.host ?? { nodeArch: process.arch, kernelRelease: release() };
  const namespaces: Json[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }];
  // A network namespace without a path gets only loopback (brought up by the runtime).
  if (spec.network === 'none') namespaces.push({ type: 'network' });
  else if (spec.network === 'default') {
    if (!input.netnsPath) throw new Error('network default needs a prepared namespace');
    namespaces.push({ type: 'network', path: input.netnsPath });
  }

  const resources: Json = {
    // Deny every device node; the runtime adds its default allow list (null, zero, tty, pts...).
    devices: [{ allow: !!insecure, access: 'rwm' }],
  };
  if (spec.limits?.memoryBytes !== undefined) resources['memory'] = { limit: spec.limits.memoryBytes };
  if (spec.limits?.pids !== undefined) resources['pids'] = { limit: spec.limits.pids };

  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: [...user.additionalGids] } : {}) },
      args: [...spec.args],
      env,
      cwd: spec.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps },
      noNewPrivileges: true,
      ...(spec.limits?.ulimits?.length ? { rlimits: spec.limits.ulimits.map(toRlimit) } : {}),
    },
    root: { path: input.rootfs, readonly: false },
    hostname: spec.hostname ?? 'wharf',
    mounts: [
      ...standardMounts(spec.network, insecure, spec.limits?.shmBytes ?? DEFAULT_SHM_BYTES),
      ...(input.remountCgroupTmpfs && !insecure ? [CGROUP_TMPFS_READONLY] : []),
      ...etcMounts(input.etcFiles),
      ...input.mounts.map(toOciMount),
    ],
    linux: {
      namespaces,
      ...(input.cgroupsPath !== undefined ? { cgroupsPath: input.cgroupsPath, resources } : {}),
      maskedPaths: insecure ? [] : [...MASKED_PATHS],
      readonlyPaths: insecure ? [] : [...READONLY_PATHS],
      ...(insecure ? {} : { seccomp: seccompConfig({ capabilities: caps, ...host }) }),
    },
  };
}

/**
 * RLIM_INFINITY (2^64-1) has no exact JSON number in JavaScript: it is written as this marker
 * and spelled out by `ociConfigJson`.
 */
const RLIM_INFINITY = 'wharf:RLIM_INFINITY';

function toRlimit(u: Ulimit): Json {
  const v = (n: number) => (n < 0 ? RLIM_INFINITY : n);
  return { type: `RLIMIT_${u.name.toUpperCase()}`, soft: v(u.soft), hard: v(u.hard) };
}

/** config.json's text. */
export function ociConfigJson(config: Json): string {
  return JSON.stringify(config).replaceAll(JSON.stringify(RLIM_INFINITY), '18446744073709551615');
}

/**
 * Docker's standard mounts (moby oci/defaults.go); /sys is read-only and /sys/fs/cgroup too,
 * except for an insecure step, which may write both as BuildKit lets it.
 */
function standardMounts(network: ProcessSpec['network'], insecure: boolean, shmBytes: number): Json[] {
  const ro = insecure ? 'rw' : 'ro';
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmBytes}`] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    // sysfs can only be mounted fresh in a network namespace of our own; with the host's network
    // it is a read-only recursive bind of the host's, as Docker does for --network=host.
    network !== 'host'
      ? { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ro] }
      : { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', ro] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', ro] },
  ];
}

const CGROUP_TMPFS_READONLY: Json = {
  destination: '/sys/fs/cgroup', type: 'tmpfs', source: 'tmpfs', options: ['remount', 'ro', 'nosuid', 'nodev', 'noexec'],
};

function etcMounts(files: ConfigInput['etcFiles']): Json[] {
  const bind = (source: string, destination: string): Json =>
    ({ destination, type: 'bind', source, options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'] });
  return [bind(files.hosts, '/etc/hosts'), bind(files.resolvConf, '/etc/resolv.conf'), bind(files.hostname, '/etc/hostname')];
}

function toOciMount(m: MountSpec): Json {
  switch (m.type) {
    case 'bind':
      return { destination: m.destination, type: 'bind', source: m.source, options: ['rbind', 'rprivate', m.readonly ? 'ro' : 'rw'] };
    case 'tmpfs':
      return {
        destination: m.destination, type: 'tmpfs', source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', ...(m.sizeBytes !== undefined ? [`size=${m.sizeBytes}`] : [])],
      };
  }
}

/** PATH and HOME as Docker supplies them when the image and step do not. */
function withDefaults(env: readonly string[], home: string): string[] {
  const out = [...env];
  if (!out.some((e) => e.startsWith('PATH='))) out.unshift(DEFAULT_PATH);
  if (!out.some((e) => e.startsWith('HOME='))) out.push(`HOME=${home}`);
  return out;
}

/** /etc/hosts as Docker writes it for a container with no network of its own. */
export function hostsFile(hostname: string, extra: readonly string[] = []): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    `127.0.1.1\t${hostname}`,
    ...extra,
    '',
  ].join('\n');
}
