import { spawn } from 'node:child_process';
import { lstatSync, readdirSync, realpathSync, rmSync, utimesSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Sha256 } from '../hash/index.js';
import { addLayer, commitImage, fromImage, imageTimestamp, parseTagName } from '../image/index.js';
import { readTreeXattrs, type Compression } from '../layer/index.js';
import { bundleStubs, pauseContainer, resumeContainer, type StubRecord } from '../runtime/index.js';
import { dropPureCopyUps, openSnapshots } from '../snapshot/index.js';
import type { Descriptor } from '../store/index.js';
import { UserError } from '../util/index.js';
import { applyInstructions } from './config-edits.js';
import { isRunning, layerRefsOf, refOf, type ContainerDeps } from './lifecycle.js';
import { findRecord, pathsOf } from './records.js';

export interface CommitOptions {
  readonly message?: string;
  readonly author?: string;
  /** `-c` lines: Dockerfile instructions applied to the config (CMD, ENV, …). */
  readonly changes?: readonly string[];
  /** NAME[:TAG] to tag the image with. */
  readonly tag?: string;
  readonly sourceDateEpoch?: number;
  readonly compression?: Compression;
  /** Pause a running container while its upper dir is read (default true, as docker). */
  readonly pause?: boolean;
}

export interface CommitResult {
  readonly id: Sha256;
  readonly manifest: Descriptor;
}

/**
 * The container's upper dir becomes one layer on top of its image, as a RUN step's does (pure
 * copy-ups dropped, whiteouts, deterministic tar, SOURCE_DATE_EPOCH), with its config edits and
 * one history entry. The container itself is left as it is: the upper dir is read through a copy
 * (a running container is frozen for that copy), which the snapshot store then keeps as the new
 * layer's snapshot. A commit killed midway leaves only store temp files, swept later.
 */
export async function commitContainer(deps: ContainerDeps, nameOrId: string, o: CommitOptions): Promise<CommitResult> {
  const rec = findRecord(deps.root, nameOrId);
  const tag = o.tag !== undefined ? parseTagName(o.tag, 'commit') : undefined;
  const config = applyInstructions(rec.imageConfig, o.changes ?? [], '-c');
  const lease = await deps.store.lease();
  const work = await deps.store.tempDir('commit');
  try {
    const copy = join(work, 'upper');
    const live = await isRunning(deps.root, rec);
    const running = live && o.pause !== false;
    const ref = refOf(deps.root, rec);
    if (running) {
      const why = await pauseContainer(ref);
      if (why) throw new UserError('container.pause-failed', `cannot pause container ${rec.name} for the commit: ${why}`, 'stop it first, or commit with --pause=false');
    }
    const paths = pathsOf(deps.root, rec.id);
    try {
      await copyTree(paths.upper, copy);
    } finally {
      if (running) await resumeContainer(ref);
    }
    // While it runs, the mount points the runtime made (/proc, /etc/hosts, … where the image has
    // none) are in the upper dir; they are not the container's work, so not the layer's.
    if (live) dropStubs(copy, paths.rootfs, bundleStubs(paths.bundle));
    const snapshots = openSnapshots(deps.root, lease.blobs);
    const parent = layerRefsOf(rec);
    const lowers = await snapshots.prepare(parent);
    const xattrs = await readTreeXattrs(copy);
    await dropPureCopyUps(copy, lowers, undefined, xattrs);
    const layer = await snapshots.commitUpper(copy, parent, { compression: o.compression ?? 'none', xattrs, ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}) });
    const created = imageTimestamp(o.sourceDateEpoch);
    const draft = addLayer(fromImage(config, rec.layers), { descriptor: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, diffId: layer.diffId }, {
      created,
      created_by: rec.process.args.length ? rec.process.args.join(' ') : `wharf commit ${rec.name}`,
      ...(o.author !== undefined ? { author: o.author } : {}),
      ...(o.message !== undefined ? { comment: o.message } : {}),
    });
    const image = await commitImage(lease.blobs, draft, { created, ...(o.author !== undefined ? { author: o.author } : {}) });
    if (tag) await deps.store.setTag(tag, image.manifestDescriptor);
    return { id: image.id, manifest: image.manifestDescriptor };
  } finally {
    await rm(work, { recursive: true, force: true });
    await lease.release();
  }
}

/**
 * `cp -a` keeps what a layer needs of the upper dir: owners, modes, times, hard links, the char 0/0
 * whiteouts and the trusted.overlay.opaque xattrs.
 */
function copyTree(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    const c = spawn('cp', ['-a', '--preserve=all', '--', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new UserError('container.commit-copy', `cannot read the container's changes: ${err.trim()}`, 'check free space in the store'))));
  });
}

/** Removes from the copied upper dir each stub that is still empty (deepest first), as a stopped run does. */
function dropStubs(copy: string, rootfs: string, records: readonly StubRecord[]): void {
  let real: string;
  try {
    real = realpathSync(rootfs);
  } catch {
    return;
  }
  const inCopy = (host: string): string | undefined => {
    const rel = relative(real, host);
    return rel.startsWith('..') ? undefined : join(copy, rel);
  };
  for (const r of records) {
    let removed = true;
    for (const host of [...r.chain].reverse()) {
      const path = inCopy(host);
      const st = path ? lstatSync(path, { throwIfNoEntry: false }) : undefined;
      if (!path || !st) continue;
      const empty = st.isDirectory() ? readdirSync(path).length === 0 : st.isFile() && st.size === 0;
      if (!empty) {
        removed = false;
        break;
      }
      rmSync(path, { recursive: true, force: true });
    }
    // The parent's times as they were before the stub, so an untouched copy-up of it is dropped.
    const parent = inCopy(r.parent.path);
    if (removed && parent && lstatSync(parent, { throwIfNoEntry: false })?.isDirectory()) utimesSync(parent, r.parent.atime, r.parent.mtime);
  }
}
