import type { Range } from '../diag/index.js';
import type { Instruction as AstInstruction, Word } from '../syntax/index.js';

export type { Word };

/** A command as written: exec form (JSON array, no shell) or shell form (run through SHELL). */
export type Command = { readonly form: 'exec'; readonly args: readonly Word[] } | { readonly form: 'shell'; readonly text: Word };

/** A heredoc body used as a RUN script or a COPY/ADD source file. */
export interface InlineFile {
  readonly name: string;
  readonly data: string;
  /** False when the delimiter was quoted: the body is not expanded. */
  readonly expand: boolean;
  /** `<<-`: for RUN scripts the tabs are still in `data` (stripped when the script is written);
   * COPY/ADD contents arrive with them already stripped, as BuildKit gives them. */
  readonly chomp: boolean;
  readonly fileDescriptor: number;
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type Sharing = 'shared' | 'private' | 'locked';

/** One `RUN --mount=...`, defaults applied as BuildKit applies them. */
export interface Mount {
  readonly type: MountType;
  readonly target?: string;
  readonly source?: string;
  /** A stage name, stage index or image the mount reads from (bind, cache). */
  readonly from?: string;
  readonly readOnly: boolean;
  /** Cache id (cache), secret or ssh id. */
  readonly id?: string;
  readonly sharing?: Sharing;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** tmpfs size in bytes. */
  readonly size?: number;
  readonly required?: boolean;
  /** secret: also expose the secret as this environment variable. */
  readonly env?: string;
  readonly range: Range;
}

export type NetworkMode = 'default' | 'none' | 'host';
export type SecurityMode = 'sandbox' | 'insecure';

interface Base {
  /** The AST node this came from (ranges, original text). */
  readonly node: AstInstruction;
}

export interface FromInstruction extends Base {
  readonly kind: 'FROM';
  /** The base: an image reference, `scratch`, or a stage name (expanded with global ARGs). */
  readonly image: Word;
  readonly stageName?: Word;
  readonly platform?: Word;
}

export interface RunInstruction extends Base {
  readonly kind: 'RUN';
  /** The raw `--mount` values, so a later pass can re-parse them with expansion. */
  readonly mountSpecs: readonly Word[];
  readonly command: Command;
  readonly files: readonly InlineFile[];
  readonly mounts: readonly Mount[];
  readonly network: NetworkMode;
  readonly security: SecurityMode;
}

export interface CopyInstruction extends Base {
  readonly kind: 'COPY' | 'ADD';
  readonly sources: readonly Word[];
  readonly contents: readonly InlineFile[];
  readonly dest: Word;
  /** COPY --from: a stage name, index or image; never expanded. */
  readonly from?: Word;
  readonly chown?: Word;
  readonly chmod?: Word;
  readonly link: boolean;
  readonly parents: boolean;
  readonly exclude: readonly Word[];
  /** ADD only. */
  readonly checksum?: Word;
  readonly keepGitDir?: boolean;
  readonly unpack?: boolean;
}

export interface KeyValuePair {
  readonly key: string;
  readonly value: string;
  readonly range: Range;
}

export interface ArgDeclaration {
  readonly key: string;
  /**
   * As written: absent for `ARG NAME` (takes a --build-arg, a global ARG's value, or stays unset).
   * After resolveStages: the value the ARG took, absent if it stayed unset.
   */
  readonly value?: string;
  readonly range: Range;
}

export interface EnvInstruction extends Base {
  readonly kind: 'ENV' | 'LABEL';
  readonly pairs: readonly KeyValuePair[];
}
export interface ArgInstruction extends Base {
  readonly kind: 'ARG';
  readonly args: readonly ArgDeclaration[];
}
export interface CmdInstruction extends Base {
  readonly kind: 'CMD' | 'ENTRYPOINT';
  readonly command: Command;
}
export interface ShellInstruction extends Base {
  readonly kind: 'SHELL';
  readonly shell: readonly string[];
}
export interface ListInstruction extends Base {
  readonly kind: 'EXPOSE' | 'VOLUME';
  readonly items: readonly Word[];
}
export interface TextInstruction extends Base {
  readonly kind: 'WORKDIR' | 'USER' | 'STOPSIGNAL' | 'MAINTAINER';
  readonly value: Word;
}

export interface HealthcheckOptions {
  /** Durations in nanoseconds, as the image config stores them; 0 = inherit the default. */
  readonly interval: number;
  readonly timeout: number;
  readonly startPeriod: number;
  readonly startInterval: number;
  readonly retries: number;
}
export interface HealthcheckInstruction extends Base {
  readonly kind: 'HEALTHCHECK';
  /** Absent for `HEALTHCHECK NONE`. */
  readonly command?: Command;
  readonly options: HealthcheckOptions;
}

export interface OnbuildInstruction extends Base {
  readonly kind: 'ONBUILD';
  /** The trigger as written (`RUN echo hi`); stored in the image config unexpanded. */
  readonly trigger: string;
  readonly triggerInstruction: TypedInstruction;
}

export type TypedInstruction =
  | FromInstruction
  | RunInstruction
  | CopyInstruction
  | EnvInstruction
  | ArgInstruction
  | CmdInstruction
  | ShellInstruction
  | ListInstruction
  | TextInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

export type InstructionKind = TypedInstruction['kind'];
