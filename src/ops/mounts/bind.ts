import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mount } from '../../instructions/index.js';
import { resolveInRoot } from '../../runtime/index.js';
import { contextRoots, copyRoots } from '../copy/copy.js';
import { withStageView } from '../fs-write.js';
import type { BuildDeps } from '../state.js';
import type { MountAddition, MountFrom } from './types.js';

/** A bind mount without `source=` shows the whole context (or the whole stage/image). */
export const CONTEXT_ROOT = '.';

/**
 * `RUN --mount=type=bind`: from a stage/image (its view, read-only unless `rw`), or a copy of what
 * the context selects, so ignored files stay out and writes go nowhere (thrown away, as in BuildKit).
 */
export async function withBind<T>(deps: BuildDeps, label: string, m: Mount, fromOf: MountFrom, add: (a: MountAddition) => Promise<T>): Promise<T> {
  const target = m.target!;
  const source = m.source ?? CONTEXT_ROOT;
  if (m.from !== undefined) {
    return withStageView(deps, await fromOf(m), async (rootfs) => add({ spec: { type: 'bind', source: await resolveInRoot(rootfs, source), destination: target, readonly: m.readOnly } }), !m.readOnly);
  }
  const tmp = await deps.store.tempDir('bind');
  try {
    const roots = contextRoots(deps.context.dir, deps.context.entries, [source], label);
    // The key fingerprinted these files: the ones with carried xattrs keep them in the copy.
    const xattrSources = new Set([...deps.context.xattrs.keys()].map((p) => join(deps.context.dir, p)));
    await copyRoots(tmp, roots, { dest: '/', destIsDir: true, owner: { uid: 0, gid: 0 }, extract: false, label, ...(xattrSources.size ? { xattrSources } : {}) });
    const top = roots[0]!;
    return await add({ spec: { type: 'bind', source: top.items[0]!.type === 'dir' ? tmp : join(tmp, top.name), destination: target, readonly: m.readOnly } });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
