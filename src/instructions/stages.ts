/**
 * The model of a resolved Dockerfile (stages of expanded steps), what resolution takes, and the
 * built-in ARGs every stage can declare.
 */
import type { Diagnostic, SourceFile } from '../diag/index.js';
import { formatPlatform, type Platform } from '../util/index.js';
import type { FromInstruction, TypedInstruction } from './types.js';

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/** ARGs BuildKit passes to RUN when given as --build-arg, undeclared, and keeps out of cache keys. */
export const PROXY_ARGS: ReadonlySet<string> = new Set(
  ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'].flatMap((n) => [n, n.toLowerCase()]),
);

/** The PATH every stage has unless its base sets one (BuildKit adds it to each stage's env). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ResolveOptions {
  /** `--target`: the value of the built-in TARGETSTAGE ARG (`default` without one). */
  readonly target?: string;
  /** `--build-arg K=V` values. */
  readonly buildArgs?: ReadonlyMap<string, string>;
  readonly targetPlatform?: Platform;
  readonly buildPlatform?: Platform;
  /**
   * The Env of a base image, when the caller knows it: expansion after FROM sees it (`$PATH`,
   * `$HOME`). Without it a stage starts with only the default PATH. A build asks a
   * BaseImageResolver instead (resolveStagesAsync), which answers Env and triggers together.
   */
  readonly imageEnv?: (ref: string) => ReadonlyMap<string, string> | undefined;
  /** The ONBUILD triggers of a base image (parsed), run first in a stage built FROM it. */
  readonly imageTriggers?: (ref: string) => readonly TypedInstruction[] | undefined;
  /**
   * Why a FROM's expanded image name is not a valid reference (undefined: it is). Injected (the
   * reference grammar lives in the store); without it only a blank name is refused.
   */
  readonly checkReference?: (ref: string) => string | undefined;
}

/** What is known of a base image: its Env and its ONBUILD triggers (parsed); either may be unknown. */
export interface BaseImage {
  readonly env?: ReadonlyMap<string, string>;
  readonly triggers?: readonly TypedInstruction[];
}

/** The environment a RUN sees: ENV plus in-scope ARGs (ENV wins), and proxy build-args apart. */
export interface RunEnv {
  readonly vars: readonly (readonly [string, string])[];
  readonly proxy: readonly (readonly [string, string])[];
}

export interface Step {
  /** The instruction with its expandable values expanded. */
  readonly instruction: TypedInstruction;
  /** For RUN: the environment it runs with. */
  readonly runEnv?: RunEnv;
  /** True for an ONBUILD trigger of the parent stage, run before the stage's own steps. */
  readonly trigger: boolean;
}

export interface Stage {
  readonly index: number;
  /** Lower-cased `AS` name. */
  readonly name?: string;
  readonly from: FromInstruction;
  /** The expanded base: image reference, `scratch` or an earlier stage's name (see plan). */
  readonly base: string;
  readonly platform?: string;
  readonly steps: readonly Step[];
}

export interface ResolvedDockerfile {
  readonly file: SourceFile;
  readonly globalArgs: ReadonlyMap<string, string>;
  readonly stages: readonly Stage[];
}

export function platformArgs(target: Platform, build: Platform): Map<string, string> {
  return new Map([
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
  ]);
}

export interface Resolution {
  readonly resolved: ResolvedDockerfile;
  readonly diagnostics: Diagnostic[];
}
