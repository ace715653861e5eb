import type { Range, SourceFile } from '../diag/index.js';

/**
 * The syntax tree of one Dockerfile, as BuildKit's parser sees it: instructions with their raw
 * flags and arguments, nothing validated or expanded yet (that is the instructions layer's job).
 *
 * Every node carries a `range` of offsets into `file.text`; line and column come from
 * `file.position(offset)` when someone needs them.
 */
export interface Dockerfile {
  readonly file: SourceFile;
  /** Parser directives (`# syntax=`, `# escape=`, `# check=`) from the top of the file, in order. */
  readonly directives: readonly Directive[];
  readonly instructions: readonly Instruction[];
  /** Every `#` comment line that is not a directive (including ones inside continuations). */
  readonly comments: readonly Comment[];
  /** The line-continuation / escape character: `\` unless `# escape=` said otherwise. */
  readonly escapeChar: EscapeChar;
  readonly range: Range;
}

export type EscapeChar = '\\' | '`';

/** `# name=value` at the top of the file. `name` is lower-case, `value` trimmed. */
export interface Directive {
  readonly name: string;
  readonly value: string;
  readonly nameRange: Range;
  readonly valueRange: Range;
  readonly range: Range;
}

export interface Comment {
  /** The text after `#`, untrimmed. */
  readonly text: string;
  readonly range: Range;
}

/** The Dockerfile instructions BuildKit knows, upper-case. */
export const KNOWN_INSTRUCTIONS = [
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
] as const;

export type KnownInstruction = (typeof KNOWN_INSTRUCTIONS)[number];

export interface Instruction {
  /** Upper-case keyword (`RUN`); for an unknown instruction the upper-cased word as written. */
  readonly keyword: string;
  /** The keyword exactly as written (`run`, `Copy`), for messages like `unknown instruction: foo`. */
  readonly keywordText: string;
  /** False for a word BuildKit does not know; see `unknownInstructionDiagnostic`. */
  readonly known: boolean;
  readonly keywordRange: Range;
  /** Leading `--name[=value]` flags, raw (never validated here); a bare `--` ends them and is dropped. */
  readonly flags: readonly Flag[];
  readonly args: Args;
  /**
   * Heredocs (`<<EOF`) opened on this instruction's line, in order; only RUN, COPY and ADD in
   * shell form get any. An ONBUILD carries its trigger's heredocs too (as BuildKit's node does).
   */
  readonly heredocs: readonly Heredoc[];
  /** For ONBUILD: the instruction it registers. */
  readonly trigger?: Instruction;
  /** 1-based first and last source line (continuation, comment and heredoc lines included). */
  readonly startLine: number;
  readonly endLine: number;
  /** From the keyword to the end of the last line (heredoc bodies included), line end excluded. */
  readonly range: Range;
  /** `file.text` sliced by `range`: the instruction as written. */
  readonly original: string;
}

export interface Flag {
  /** Without the leading `--`: `mount`, `from`, `chown`. */
  readonly name: string;
  /** Everything after the first `=`, raw; undefined for `--flag` without `=`. */
  readonly value: string | undefined;
  /**
   * The whole flag as BuildKit keeps it (quotes removed, `\x` unescaped): `--mount=type=cache,target=/x`.
   * `range` covers it as written.
   */
  readonly text: string;
  readonly range: Range;
}

/** A string with where it came from: a JSON array element (decoded) or a raw shell word. */
export interface Word {
  readonly value: string;
  readonly range: Range;
}

/**
 * Arguments in the form BuildKit's per-instruction line parsers give them:
 * - json: RUN/CMD/ENTRYPOINT/SHELL/COPY/ADD/VOLUME written as a JSON string array (decoded).
 * - shell: RUN/CMD/ENTRYPOINT/SHELL in shell form; `text` has continuations removed.
 * - words: FROM, EXPOSE, ARG, and COPY/ADD/VOLUME in shell form, split on whitespace (ARG keeps
 *   quoted spaces inside a word); raw as written.
 * - text: USER, WORKDIR, MAINTAINER, STOPSIGNAL, ONBUILD (its trigger text) and unknown
 *   instructions: the rest of the line as one string.
 * - keyValue: ENV and LABEL.
 * - healthcheck: `HEALTHCHECK NONE` or `HEALTHCHECK [flags] CMD <json or shell>` (type kept as written).
 */
export type Args = JsonArgs | ShellArgs | WordsArgs | TextArgs | KeyValueArgs | HealthcheckArgs;

export interface JsonArgs {
  readonly kind: 'json';
  readonly items: readonly Word[];
  readonly range: Range;
}

export interface ShellArgs {
  readonly kind: 'shell';
  /** Continuations (escape + newline) and comment lines inside them removed. May be ''. */
  readonly text: string;
  readonly range: Range;
}

export interface WordsArgs {
  readonly kind: 'words';
  readonly words: readonly Word[];
  readonly range: Range;
}

export interface TextArgs {
  readonly kind: 'text';
  readonly text: string;
  readonly range: Range;
}

export interface KeyValueArgs {
  readonly kind: 'keyValue';
  readonly pairs: readonly KeyValue[];
  /** True for the legacy `ENV key value` form (one pair, no `=`). */
  readonly legacy: boolean;
  readonly range: Range;
}

export interface KeyValue {
  readonly key: string;
  /** Raw as written: quotes and backslashes kept (`"a b"` stays `"a b"`). */
  readonly value: string;
  /** `=` for `k=v`, `` for the legacy form. */
  readonly separator: '=' | '';
  readonly keyRange: Range;
  readonly valueRange: Range;
  readonly range: Range;
}

export interface HealthcheckArgs {
  readonly kind: 'healthcheck';
  /**
   * The first word as written (`CMD`, `NONE`, or anything else: validating it is the instructions
   * layer's job); '' for a bare `HEALTHCHECK`.
   */
  readonly type: string;
  readonly typeRange: Range;
  /** The command after the type word (absent for NONE or when nothing follows). */
  readonly command?: JsonArgs | ShellArgs;
  readonly range: Range;
}

export interface Heredoc {
  /** The delimiter with quotes removed: `<<'EOF'` → `EOF`. */
  readonly name: string;
  /** The body lines up to (not including) the delimiter line, each with its newline. Never chomped here. */
  readonly content: string;
  /** False when the delimiter was quoted (no variable expansion in the body). */
  readonly expand: boolean;
  /** True for `<<-`: leading tabs of body lines are to be stripped (see `chompHeredocContent`). */
  readonly chomp: boolean;
  /** `3<<EOF` → 3; 0 when not given. */
  readonly fileDescriptor: number;
  /** The `<<EOF` word on the instruction line. */
  readonly range: Range;
  /** The body and its closing delimiter line. */
  readonly bodyRange: Range;
}
