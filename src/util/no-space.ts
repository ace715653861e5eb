import { UserError } from './user-error.js';

/**
 * ENOSPC where wharf writes into its store, said as what was being written and where: a full disk
 * is the user's to fix, not a stack trace. The solver adds the step (`atStep`) when it passes by.
 */
export class NoSpaceError extends UserError {
  constructor(
    /** What was being written, e.g. "writing the layer". */
    readonly doing: string,
    /** The store root (or the dir) on the full filesystem. */
    readonly where: string,
    readonly step?: number,
  ) {
    super('store.no-space', `no space left on device while ${doing}${step === undefined ? '' : ` of step #${step}`} (store: ${where})`,
      `free space on the filesystem that holds ${where} (\`wharf prune\` removes what no image uses), or use a store on a larger one (--root)`);
  }

  atStep(step: number): NoSpaceError {
    return this.step === undefined ? new NoSpaceError(this.doing, this.where, step) : this;
  }
}

/** True for ENOSPC, raw or already said as a NoSpaceError. */
export function isNoSpace(e: unknown): boolean {
  return e instanceof NoSpaceError || (e as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC';
}

/** `e` as a NoSpaceError saying `doing` when it is ENOSPC (one said already is said again), else `e`. */
export function sayNoSpace(e: unknown, doing: string, where: string): unknown {
  return isNoSpace(e) ? new NoSpaceError(doing, where) : e;
}
