/**
 * The runtime module's surface: run one process in a throwaway namespaced container whose root is
 * an already prepared directory (for RUN, an overlay mount from the snapshot module).
 *
 *   executor.run(spec, rootfs, mounts, stdio, signal) → { exitCode }
 *
 * A non-zero exit is a value, not an error: the builder formats it (step, command, output tail).
 * Failures to set the container up are `UserError`s (code `runtime.*`); an abort rejects with
 * `UserError` code `runtime.aborted` once the container is gone and everything is cleaned up.
 */

/**
 * `default`: a network namespace of its own with outbound NAT (slirp4netns, network.ts); `none`:
 * a namespace with only loopback; `host`: the host's network stack.
 */
export type NetworkMode = 'default' | 'none' | 'host';
/**
 * `sandbox`: Docker's default confinement (its capability set, seccomp profile, masked and
 * read-only /proc paths). `insecure` (`RUN --security=insecure`, behind the security.insecure
 * entitlement): every capability, no seccomp, nothing masked, /sys and cgroupfs writable, every
 * device allowed in the device cgroup, as BuildKit runs it (device nodes are not bind-mounted in).
 */
export type SecurityMode = 'sandbox' | 'insecure';

export interface ProcessSpec {
  /** argv; args[0] is looked up in PATH from `env` by the OCI runtime when it has no slash. */
  readonly args: readonly string[];
  /** `KEY=value` entries, in order; later duplicates win as in Docker. */
  readonly env: readonly string[];
  /**
   * `user`, `user:group`, `uid`, `uid:gid` (Docker's USER forms). Names resolve against the rootfs's
   * /etc/passwd and /etc/group; empty or absent means root.
   */
  readonly user?: string;
  /** Absolute working directory inside the container; created by the runtime when missing. */
  readonly cwd: string;
  /** The container's hostname (its own UTS namespace); default `wharf`. */
  readonly hostname?: string;
  readonly network: NetworkMode;
  /** Default `sandbox`. */
  readonly security?: SecurityMode;
  readonly limits?: ResourceLimits;
  /** Extra /etc/hosts lines (`ip name...`), as `--add-host` gives. */
  readonly extraHosts?: readonly string[];
}

export interface ResourceLimits {
  /** cgroup memory limit. */
  readonly memoryBytes?: number;
  /** cgroup pids limit: processes and threads of the container together. */
  readonly pids?: number;
  /** Size of the /dev/shm tmpfs; default 64 MiB as Docker's. */
  readonly shmBytes?: number;
  /** process rlimits (`ulimit`), in the order given. */
  readonly ulimits?: readonly Ulimit[];
}

/** One rlimit: `name` as `ulimit`/Docker write it (`nofile`, `nproc`, ...); -1 is unlimited. */
export interface Ulimit {
  readonly name: string;
  readonly soft: number;
  readonly hard: number;
}

/** A mount added to the container on top of the standard /proc, /dev, /sys, /etc files. */
export type MountSpec =
  | { readonly type: 'bind'; readonly source: string; readonly destination: string; readonly readonly: boolean }
  | { readonly type: 'tmpfs'; readonly destination: string; readonly sizeBytes?: number };

/** Output callbacks: called once per line (without the newline) as the lines arrive. */
export interface Stdio {
  readonly stdout?: (line: string) => void;
  readonly stderr?: (line: string) => void;
}

export interface ExitStatus {
  /** The process's exit code; 128+n when it died of signal n. */
  readonly exitCode: number;
}

export interface Executor {
  run(spec: ProcessSpec, rootfs: string, mounts: readonly MountSpec[], stdio: Stdio, signal?: AbortSignal): Promise<ExitStatus>;
}
