import { mountTarget, type Mount } from '../../instructions/index.js';
import { UserError } from '../../util/index.js';
import { useCacheMount } from './cache.js';
import { contextSelection } from '../copy/copy.js';
import { CONTEXT_ROOT, withBind } from './bind.js';
import { withSecret } from './secret.js';
import { withSshAgent } from './ssh.js';
import type { BuildDeps } from '../state.js';
import type { MountAddition, MountFrom, MountSetup } from './types.js';

export type { MountAddition, MountFrom, MountSetup } from './types.js';

/**
 * `RUN --mount`: cache (a persistent directory per id under `<root>/cache-mounts/`, see
 * cache.ts), tmpfs, bind from the context or from a stage/image (bind.ts), secret (secret.ts)
 * and ssh (ssh.ts).
 * Mount points the runtime had to create are removed again before the layer is taken (runtime stubs).
 */

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
export async function withMounts<T>(
  deps: BuildDeps, label: string, workdir: string, mounts: readonly Mount[], fromOf: MountFrom, body: (setup: MountSetup) => Promise<T>, signal?: AbortSignal,
): Promise<T> {
  const setup: MountSetup = { specs: [], env: [], defaultEnv: [] };
  const firstSsh = mounts.find((m) => m.type === 'ssh');
  const next = async (i: number): Promise<T> => {
    const given = mounts[i];
    if (!given) return body(setup);
    // A secret with only env= has no file; every other mount is placed relative to the WORKDIR.
    const m = given.type === 'secret' && given.target === undefined ? given : { ...given, target: mountTarget(given.target, workdir) };
    if (m.target === '/') {
      throw new UserError('build.mount-target-root', `${label}: invalid mount target "/"${given.target ? '' : ` (the mount has no target and the WORKDIR is ${workdir})`}`,
        'give the mount a target=<dir> other than /; an empty or relative target is taken from the WORKDIR');
    }
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
        return withSshAgent(deps, label, m, given === firstSsh, add);
      case 'cache': {
        const use = await useCacheMount(deps.store, m.id ?? target, m.sharing ?? 'shared', { mode: m.mode ?? 0o755, uid: m.uid ?? 0, gid: m.gid ?? 0 }, signal);
        try {
          return await add({ spec: { type: 'bind', source: use.dir, destination: target, readonly: m.readOnly } });
        } finally {
          await use.release();
        }
      }
      case 'bind':
        return withBind(deps, label, m, fromOf, add);
    }
  };
  return next(0);
}
