import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mount } from '../instructions/index.js';
import type { MountSpec } from '../runtime/index.js';
import { resolveInRoot } from '../runtime/index.js';
import { useCacheMount } from './cache-mounts.js';
import { contextRoots, contextSelection, copyRoots } from './copy.js';
import { withStageView } from './fs-write.js';
import { withSecret } from './secret-mount.js';
import { withSshAgent } from './ssh-mount.js';
import type { BuildDeps, StageState } from './state.js';

/**
 * `RUN --mount`: cache (a persistent directory per id under `<root>/cache-mounts/`, see
 * cache-mounts.ts), tmpfs, bind from the context or from a stage/image (read-only unless `rw`;
 * writes are thrown away, as in BuildKit), secret (secret-mount.ts) and ssh (ssh-mount.ts).
 * Mount points the runtime had to create are removed again before the layer is taken (runtime stubs).
 */

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

const CONTEXT_ROOT = '.';

/** What a RUN's mounts add to its key: the specs, and for binds what they show (never cache contents or secret values). */
export async function mountKeyMaterial(deps: BuildDeps, label: string, mounts: readonly Mount[], fromOf: MountFrom): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const m of mounts) {
    const { range: _range, ...spec } = m;
    if (m.type !== 'bind') out.push(spec);
    else if (m.from !== undefined) out.push({ ...spec, input: { stage: (await fromOf(m)).key } });
    else out.push({ ...spec, input: { tree: await deps.context.treeDigest(contextSelection(deps.context.entries, [m.source ?? CONTEXT_ROOT], label)) } });
  }
  return out;
}

/** Sets the mounts up, runs `body` with what they add, and tears everything down on every path out. */
export async function withMounts<T>(deps: BuildDeps, label: string, mounts: readonly Mount[], fromOf: MountFrom, body: (setup: MountSetup) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const setup: MountSetup = { specs: [], env: [], defaultEnv: [] };
  const firstSsh = mounts.find((m) => m.type === 'ssh');
  const next = async (i: number): Promise<T> => {
    const m = mounts[i];
    if (!m) return body(setup);
    const add = (a: MountAddition) => {
      if (a.spec) setup.specs.push(a.spec);
      setup.env.push(...(a.env ?? []));
      setup.defaultEnv.push(...(a.defaultEnv ?? []));
      return next(i + 1);
    };
    const target = m.target!;
    switch (m.type) {
      case 'tmpfs':
        return add({ spec: { type: 'tmpfs', destination: target, ...(m.size !== undefined ? { sizeBytes: m.size } : {}) } });
      case 'secret':
        return withSecret(deps, label, m, add);
      case 'ssh':
        return withSshAgent(deps, label, m, m === firstSsh, add);
      case 'cache': {
        const use = await useCacheMount(deps.store, m.id ?? target, m.sharing ?? 'shared', { mode: m.mode ?? 0o755, uid: m.uid ?? 0, gid: m.gid ?? 0 }, signal);
        try {
          return await add({ spec: { type: 'bind', source: use.dir, destination: target, readonly: m.readOnly } });
        } finally {
          await use.release();
        }
      }
      case 'bind': {
        const source = m.source ?? CONTEXT_ROOT;
        if (m.from !== undefined) {
          return withStageView(deps, await fromOf(m), async (rootfs) => add({ spec: { type: 'bind', source: await resolveInRoot(rootfs, source), destination: target, readonly: m.readOnly } }));
        }
        // A copy of what the context selects, so ignored files stay out and writes go nowhere.
        const tmp = await deps.store.tempDir('bind');
        try {
          const roots = contextRoots(deps.context.dir, deps.context.entries, [source], label);
          await copyRoots(tmp, roots, { dest: '/', destIsDir: true, owner: { uid: 0, gid: 0 }, extract: false, label });
          const top = roots[0]!;
          return await add({ spec: { type: 'bind', source: top.items[0]!.type === 'dir' ? tmp : join(tmp, top.name), destination: target, readonly: m.readOnly } });
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
      }
    }
  };
  return next(0);
}
