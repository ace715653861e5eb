import { resolve } from 'node:path';
import { copyAll, selectStage } from '../ops/index.js';
import { withRootfs, type ContainerDeps } from './lifecycle.js';
import { findRecord } from './records.js';

/**
 * `copy` (docker's `cp`) with COPY's path rules: a container path is resolved inside the
 * container's root (absolute symlinks start at its `/`, `..` stops there), so no source, destination
 * or symlink in the image can reach the host. Host → container copies a directory's contents as
 * COPY does, owned by root; container → host keeps owners and writes symlinks as symlinks.
 */
export async function copyIntoContainer(deps: ContainerDeps, nameOrId: string, hostSrc: string, dest: string, cwd: string): Promise<void> {
  const rec = findRecord(deps.root, nameOrId);
  const src = resolve(cwd, hostSrc);
  const label = `copy ${hostSrc}`;
  const sel = await selectStage('/', { sources: [src], parents: false, exclude: [], label });
  await withRootfs(deps, rec, (rootfs) =>
    copyAll(rootfs, sel.roots, [], {
      dest: dest.startsWith('/') ? dest : `${rec.process.cwd.replace(/\/$/, '')}/${dest}`,
      destIsDir: /\/\.?$/.test(dest), owner: { uid: 0, gid: 0 }, extract: false, label,
    }));
}

export async function copyFromContainer(deps: ContainerDeps, nameOrId: string, path: string, hostDest: string, cwd: string): Promise<void> {
  const rec = findRecord(deps.root, nameOrId);
  const dest = resolve(cwd, hostDest);
  const label = `copy ${rec.name}:${path}`;
  await withRootfs(deps, rec, async (rootfs) => {
    const sel = await selectStage(rootfs, { sources: [path.startsWith('/') ? path : `${rec.process.cwd}/${path}`], parents: false, exclude: [], label });
    await copyAll('/', sel.roots, [], { dest, destIsDir: /\/\.?$/.test(hostDest), owner: { uid: 0, gid: 0 }, keepOwner: true, extract: false, label });
  });
}
