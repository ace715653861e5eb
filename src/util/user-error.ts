/**
 * A failure caused by the user's input or environment (bad flag, missing image, unreadable file),
 * as opposed to a bug. The CLI prints it as `error: <message>` plus the hint, never with a stack.
 * Modules that work through many async layers (store, layer, runtime) throw it; the parser and
 * planner return Diagnostics instead.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    /** Stable machine-readable code, e.g. `store.blob-missing`. */
    readonly code: string,
    message: string,
    /** How to fix it, when we can say. */
    readonly hint?: string,
    /** What a renderer can place or show: the word of the instruction it is about, a process's exit. */
    readonly detail?: UserErrorDetail,
  ) {
    super(message);
  }
}

/** Facts a failed build step hands up so its error can point at the Dockerfile (cli/build-failure.ts). */
export interface UserErrorDetail {
  /** The source or flag value as the instruction wrote it (where the caret goes). */
  readonly subject?: string;
  /** A RUN's exit status, and its last lines of output. */
  readonly exitCode?: number;
  readonly lastOutput?: readonly string[];
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
