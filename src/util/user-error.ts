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
  ) {
    super(message);
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
