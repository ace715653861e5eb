import { chmod, chown, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex, sha256Of } from '../hash/index.js';
import type { Mount } from '../instructions/index.js';
import type { MountSpec } from '../runtime/index.js';
import { resolveInRoot } from '../runtime/index.js';
import { UserError } from '../util/index.js';
import { contextRoots, contextSelection, copyRoots } from './copy.js';
import { withStageView } from './fs-write.js';
import type { BuildDeps, StageState } from './state.js';

/**
 * `RUN --mount`: cache (a persistent directory per id under `<root>/cache-mounts/`), tmpfs, and
 * bind from the context or from a stage/image (read-only unless `rw`; writes are thrown away, as
 * in BuildKit). secret and ssh mounts are not supported yet.
 */

/** The stage or image a mount's `from=` names. */
export type MountFrom = (m: Mount) => Promise<StageState>;

const CONTEXT_ROOT = '.';

function refuse(label: string, m: Mount): never {
  throw new UserError('build.unsupported', `${label}: RUN --mount=type=${m.type} is not supported yet`, 'cache, tmpfs and bind mounts are');
}

/** What a RUN's mounts add to its key: the specs, and for binds what they show (never cache contents). */
export async function mountKeyMaterial(deps: BuildDeps, label: string, mounts: readonly Mount[], fromOf: MountFrom): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const m of mounts) {
    if (m.type === 'secret' || m.type === 'ssh') refuse(label, m);
    const { range: _range, ...spec } = m;
    if (m.type !== 'bind') out.push(spec);
    else if (m.from !== undefined) out.push({ ...spec, input: { stage: (await fromOf(m)).key } });
    else out.push({ ...spec, input: { tree: await deps.context.treeDigest(contextSelection(deps.context.entries, [m.source ?? CONTEXT_ROOT], label)) } });
  }
  return out;
}

const locks = new Map<string, Promise<void>>();

/** Sets the mounts up, runs `body` with their specs, and tears everything down on every path out. */
export async function withMounts<T>(deps: BuildDeps, label: string, mounts: readonly Mount[], fromOf: MountFrom, body: (specs: MountSpec[]) => Promise<T>): Promise<T> {
  const specs: MountSpec[] = [];
  const next = async (i: number): Promise<T> => {
    const m = mounts[i];
    if (!m) return body(specs);
    const target = m.target!;
    switch (m.type) {
      case 'tmpfs':
        specs.push({ type: 'tmpfs', destination: target, ...(m.size !== undefined ? { sizeBytes: m.size } : {}) });
        return next(i + 1);
      case 'cache': {
        const id = m.id ?? target;
        const dir = join(deps.store.root, 'cache-mounts', sha256Hex(sha256Of(id)));
        if (!(await stat(dir).catch(() => undefined))) {
          await mkdir(dir, { recursive: true });
          await chmod(dir, m.mode ?? 0o755);
          await chown(dir, m.uid ?? 0, m.gid ?? 0);
        }
        specs.push({ type: 'bind', source: dir, destination: target, readonly: m.readOnly });
        if (m.sharing !== 'locked') return next(i + 1);
        // `locked`: one step at a time per cache id (within this process).
        const before = locks.get(id) ?? Promise.resolve();
        let release!: () => void;
        const mine = new Promise<void>((r) => (release = r));
        locks.set(id, before.then(() => mine));
        await before;
        try {
          return await next(i + 1);
        } finally {
          release();
        }
      }
      case 'bind': {
        const source = m.source ?? CONTEXT_ROOT;
        if (m.from !== undefined) {
          return withStageView(deps, await fromOf(m), async (rootfs) => {
            specs.push({ type: 'bind', source: await resolveInRoot(rootfs, source), destination: target, readonly: m.readOnly });
            return next(i + 1);
          });
        }
        // A copy of what the context selects, so ignored files stay out and writes go nowhere.
        const tmp = await deps.store.tempDir('bind');
        try {
          const roots = contextRoots(deps.context.dir, deps.context.entries, [source], label);
          await copyRoots(tmp, roots, { dest: '/', destIsDir: true, owner: { uid: 0, gid: 0 }, extract: false, label });
          const top = roots[0]!;
          specs.push({ type: 'bind', source: top.items[0]!.type === 'dir' ? tmp : join(tmp, top.name), destination: target, readonly: m.readOnly });
          return await next(i + 1);
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
      }
      default:
        return refuse(label, m);
    }
  };
  return next(0);
}
