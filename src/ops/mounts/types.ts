import type { Mount } from '../../instructions/index.js';
import type { MountSpec } from '../../runtime/index.js';
import type { StageState } from '../state.js';

/** What the mount kinds (cache.ts, secret.ts, ssh.ts, bind.ts) hand to `withMounts` in mounts.ts. */

/** The stage or image a mount's `from=` names. */
export type MountFrom = (m: Mount) => Promise<StageState>;

/** What one mount adds to the container: a mount, and environment entries (`env` override the RUN's, `defaultEnv` do not). */
export interface MountAddition {
  readonly spec?: MountSpec;
  readonly env?: readonly string[];
  readonly defaultEnv?: readonly string[];
}

/** Everything a RUN's mounts add, as `withMounts` hands it to the step. */
export interface MountSetup {
  readonly specs: MountSpec[];
  readonly env: string[];
  readonly defaultEnv: string[];
}
