import type { Sha256 } from '../hash/index.js';
import type { Descriptor } from '../store/index.js';
import type { Platform } from '../util/index.js';

export const MEDIA_TYPE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_TYPE_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_TYPE_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

/** Docker's HEALTHCHECK settings; durations in nanoseconds as docker stores them. */
export interface Healthcheck {
  /** `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "cmd"]`. */
  readonly Test: string[];
  readonly Interval?: number;
  readonly Timeout?: number;
  readonly StartPeriod?: number;
  readonly StartInterval?: number;
  readonly Retries?: number;
}

/**
 * The runtime part of an image config with docker's field names. Healthcheck, OnBuild and Shell
 * are docker extensions the OCI schema allows as extra members.
 */
export interface ContainerConfig {
  readonly User?: string;
  readonly ExposedPorts?: Readonly<Record<string, Record<string, never>>>;
  readonly Env?: readonly string[];
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly Volumes?: Readonly<Record<string, Record<string, never>>> | null;
  readonly WorkingDir?: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
  readonly StopSignal?: string;
  readonly ArgsEscaped?: boolean;
  readonly Healthcheck?: Healthcheck;
  readonly OnBuild?: readonly string[] | null;
  readonly Shell?: readonly string[];
}

export interface HistoryEntry {
  readonly created?: string;
  readonly created_by?: string;
  readonly author?: string;
  readonly comment?: string;
  /** True for steps that made no layer (ENV, CMD, …); such entries have no diff_id. */
  readonly empty_layer?: boolean;
}

/** application/vnd.oci.image.config.v1+json */
export interface ImageConfig extends Platform {
  readonly created?: string;
  readonly author?: string;
  readonly config?: ContainerConfig;
  readonly rootfs: { readonly type: 'layers'; readonly diff_ids: readonly Sha256[] };
  readonly history?: readonly HistoryEntry[];
}

/** application/vnd.oci.image.manifest.v1+json */
export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType: typeof MEDIA_TYPE_MANIFEST;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A layer as the image needs it: the stored blob plus the diff_id of its uncompressed tar. */
export interface ImageLayer {
  readonly descriptor: Descriptor;
  readonly diffId: Sha256;
}
