import type { ImageConfig } from '../image/index.js';
import type { NetworkMode } from '../runtime/index.js';
import type { Descriptor } from '../store/index.js';

/**
 * Working containers (`wharf container …`): an image's snapshots as overlay lowers plus an upper
 * dir of the container's own, kept under the store until `rm`, so its changes can be committed as
 * a layer exactly as a RUN step's are.
 *
 *   <root>/containers/<id>/container.json   the record (ContainerRecord), replaced atomically (temp + rename)
 *   <root>/containers/<id>/upper/           the container's changes (overlay upper dir)
 *   <root>/containers/<id>/rootfs/          the overlay mount while something uses it
 *   <root>/containers/<id>/bundle/          the OCI bundle of the running process (config.json, /etc files)
 *   <root>/containers/<id>/runc/            the runtime's state dir (`runc --root`)
 *   <root>/containers/<id>/log              stdout and stderr of a detached container
 *
 * A record says `running` only together with the pid (and start time) of the wharf process that
 * watches the container; when that process is gone the container reads as stopped, so a reboot or
 * a kill -9 never leaves one that looks alive. Images a record names are GC roots (gc.ts).
 */
export interface ContainerRecord {
  readonly v: 1;
  /** 64 hex digits; commands take any unique prefix or the name. */
  readonly id: string;
  readonly name: string;
  readonly created: string;
  /** The image as the user named it, and its manifest (kept from GC while the container exists). */
  readonly image: string;
  readonly imageManifest: Descriptor;
  /** The image's config as edited by `config` (and the base of a commit); its layers are the lowers. */
  readonly imageConfig: ImageConfig;
  readonly layers: readonly Descriptor[];
  /** What `start` runs. */
  readonly process: ContainerProcess;
  readonly state: ContainerState;
}

export interface ContainerProcess {
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly user?: string;
  readonly cwd: string;
  /** `default`: slirp4netns outbound NAT as RUN steps have (docker's bridge), opened by the watcher. */
  readonly network: NetworkMode;
  readonly tty: boolean;
}

export interface ContainerState {
  readonly status: 'created' | 'running' | 'exited';
  /** The wharf process watching a running container, and its start time (/proc/<pid>/stat), against pid reuse. */
  readonly monitorPid?: number;
  readonly monitorStart?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly exitCode?: number;
}

/** What `ps` and `inspect` show: the record's state checked against the live processes. */
export type LiveStatus = 'created' | 'running' | 'exited' | 'stopped';
