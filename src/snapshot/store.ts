import { closeSync, mkdirSync, open, readdir as listDir, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isSha256, sha256Hex, type Sha256 } from '../hash/index.js';
import { applyLayer, writeLayer, type LayerResult } from '../layer/index.js';
import { pruneLinks } from './overlay.js';
import { randomHex, sayNoSpace } from '../util/index.js';
import { checkSnapshots, LINK_DIR, NOT_SNAPSHOTS, RECORD, type LayerRecord } from './verify.js';
import { currentBoot, madeDurable, noteSynced, syncSnapshots, type MadeIn } from './durable.js';
import type { CommitOptions, LayerRef, SnapshotStore, SyncPoint } from './types.js';
import { chainIds, pidAlive, type BlobStore } from '../store/index.js';

/** Chain IDs of a layer stack (the keys snapshots live under). */
export function chainOf(diffIds: readonly Sha256[]): Sha256[] {
  return chainIds(diffIds) as Sha256[];
}

/**
 * `deferLayerFlush`: a committed upper dir's small layer blob is stored with the blob store's
 * putBytesDeferred (its flush joins the next blob's: a build, which settles its blobs before it
 * names them in an image).
 */
export function openSnapshots(root: string, blobs: BlobStore, opts: { readonly deferLayerFlush?: boolean } = {}): SnapshotStore {
  const dir = join(root, 'snapshots');
  const linkDir = join(dir, LINK_DIR);
  const fsOf = (chain: Sha256) => join(dir, sha256Hex(chain), 'fs');
  // Synchronous: answered from the inode cache, and a thread-pool round trip costs more than the stat.
  const exists = (p: string) => statSync(p, { throwIfNoEntry: false }) !== undefined;
  const inflight = new Map<Sha256, Promise<void>>();
  // Leftovers of dead processes are swept once per process, not on every prepare (a readdir of
  // every snapshot, per RUN), and in the background (see sweep).
  let swept: Promise<void> | undefined;
  const deferred = opts.deferLayerFlush ? blobs.putBytesDeferred?.bind(blobs) : undefined;
  const layerSink = deferred ? { writer: () => blobs.writer(), putBytes: deferred } : blobs;
  const sweepOnce = (): void => {
    if (swept) return;
    mkdirSync(dir, { recursive: true });
    swept = sweep(dir);
  };

  // When the newest snapshot this store installed since its last flush counts as made, and when
  // the latest sync known to have completed started (durable.ts): a flush with newestMade no later
  // than coveredAt needs no sync of its own. 0: none.
  let newestMade = 0;
  let coveredAt = 0;
  let snapshotsDev: number | undefined;

  /**
   * Renames a finished `<tmp>/fs` into place; another process winning the race is fine. The two
   * records and the rename are synchronous: each is a few microseconds of work next to a
   * thread-pool round trip.
   */
  async function install(chain: Sha256, tmp: string, blob: Sha256, record: LayerRecord, writtenBefore?: SyncPoint): Promise<void> {
    const [blobFd, recordFd] = await takeRecords(tmp);
    const madeAt = writtenBefore?.at ?? Date.now();
    try {
      writeRecord(join(tmp, 'blob'), blobFd, blob + '\n');
      const boot = currentBoot();
      const made: MadeIn = boot ? { boot, madeAt } : {};
      writeRecord(join(tmp, RECORD), recordFd, JSON.stringify({ ...record, ...made }) + '\n');
    } finally {
      closeQuietly(blobFd, recordFd);
    }
    newestMade = Math.max(newestMade, madeAt);
    try {
      renameSync(tmp, join(dir, sha256Hex(chain)));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Upper dirs handed out by upperDir() and not yet committed or discarded: `<tmp>/fs`. */
  const uppers = new Set<string>();
  /**
   * The record files of an upperDir()'s temp dir, opened ('w') on the thread pool as soon as the
   * dir is made: making an inode costs 0.2-0.6 ms of kernel time on this kind of host, and this way
   * it runs beside the step's own work. One pool call each (not writeFile's open, write and close,
   * each waiting for this thread to be idle); install() writes and closes the descriptors. A
   * failed open is harmless: install() makes the file then.
   */
  const recordsOpened = new Map<string, Promise<(number | undefined)[]>>();
  const takeRecords = async (tmp: string): Promise<(number | undefined)[]> => {
    const opened = recordsOpened.get(tmp);
    recordsOpened.delete(tmp);
    return opened ? await opened : [];
  };
  const openQuietly = (path: string) => new Promise<number | undefined>((resolve) => open(path, 'w', (e, fd) => resolve(e ? undefined : fd)));

  /**
   * Chains seen installed by this process. A snapshot is removed only by GC, which spares those of
   * blobs under a live lease (every build holds one), so once seen it stays for the build; without
   * this, every RUN of a 100-layer stage stat()ed all 100 snapshots one after another (~5 ms).
   */
  const present = new Set<Sha256>();

  /**
   * Whether the snapshot of `chain` is there and can be used. One made in an earlier boot and not
   * synced before it ended may have lost files (durable.ts): it is moved aside and removed, so the
   * caller unpacks or commits it again.
   */
  async function usable(chain: Sha256): Promise<boolean> {
    if (!exists(fsOf(chain))) return false;
    const snap = join(dir, sha256Hex(chain));
    let made: MadeIn = {};
    try {
      made = JSON.parse(readFileSync(join(snap, RECORD), 'utf8')) as MadeIn;
    } catch (e) {
      // No record: made before records existed, trusted as it always was. A torn one: not.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') made = { boot: '?' };
    }
    if (madeDurable(dir, made)) return true;
    const aside = join(dir, `.tmp-${process.pid}-${randomHex(6)}`);
    await rename(snap, aside).catch(() => undefined);
    await rm(aside, { recursive: true, force: true });
    return false;
  }

  async function unpack(chain: Sha256, layer: LayerRef, parent: Sha256 | null): Promise<void> {
    if (present.has(chain)) return;
    if (await usable(chain)) {
      present.add(chain);
      return;
    }
    const tmp = join(dir, `.tmp-${process.pid}-${randomHex(6)}`);
    try {
      await mkdir(join(tmp, 'fs'), { recursive: true });
      // The diff_id is checked as the layer is applied: the snapshot is named by it.
      const what = `layer ${layer.descriptor.digest}`;
      await applyLayer(blobs.openRead(layer.descriptor.digest, layer.descriptor.size), join(tmp, 'fs'), { form: 'overlay', diffId: layer.diffId, what });
      await install(chain, tmp, layer.descriptor.digest, { diffId: layer.diffId, parent });
      present.add(chain);
    } catch (e) {
      throw sayNoSpace(e, `unpacking layer ${layer.descriptor.digest}`, root);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** The upper dir's layer into the blobs, and the dir itself into place as its snapshot. */
  async function commit(upper: string, tmp: string, parent: readonly LayerRef[], o: CommitOptions): Promise<LayerResult> {
    const { compression, sourceDateEpoch, xattrs, reuse } = o;
    const layer = await writeLayer(upper, { form: 'overlay', compression, sourceDateEpoch, ...(xattrs ? { xattrs } : {}), ...(reuse ? { reuse } : {}) }, layerSink);
    const chains = chainOf([...parent.map((l) => l.diffId), layer.diffId]);
    const chain = chains.at(-1)!;
    if (present.has(chain) || (await usable(chain))) return layer;
    // An upper dir from upperDir() already sits in a temp dir of its own here: that dir is the snapshot.
    if (tmp !== dirname(upper)) {
      mkdirSync(tmp, { recursive: true });
      renameSync(upper, join(tmp, 'fs'));
    }
    await install(chain, tmp, layer.digest, { diffId: layer.diffId, parent: chains.at(-2) ?? null }, o.writtenBefore);
    // Seen installed: the next step's prepare needs no look at it (see present).
    present.add(chain);
    return layer;
  }

  return {
    linkDir,
    async stage(layers) {
      sweepOnce();
      const chains = chainOf(layers.map((l) => l.diffId));
      const chain = chains.at(-1)!;
      const layer = layers.at(-1)!;
      if (present.has(chain) || inflight.has(chain) || (await usable(chain))) return undefined;
      const tmp = join(dir, `.tmp-${process.pid}-${randomHex(6)}`);
      await mkdir(join(tmp, 'fs'), { recursive: true });
      return {
        fs: join(tmp, 'fs'),
        async install() {
          try {
            await install(chain, tmp, layer.descriptor.digest, { diffId: layer.diffId, parent: chains.at(-2) ?? null });
          } catch (e) {
            throw sayNoSpace(e, `unpacking layer ${layer.descriptor.digest}`, root);
          }
          present.add(chain);
        },
        discard: () => rm(tmp, { recursive: true, force: true }),
      };
    },
    async prepare(layers) {
      sweepOnce();
      const chains = chainOf(layers.map((l) => l.diffId));
      for (const [i, chain] of chains.entries()) {
        let p = inflight.get(chain);
        if (!p) {
          p = unpack(chain, layers[i]!, i ? chains[i - 1]! : null).finally(() => inflight.delete(chain));
          inflight.set(chain, p);
        }
        await p;
      }
      return chains.map(fsOf).reverse();
    },

    async upperDir() {
      sweepOnce();
      const tmp = join(dir, `.tmp-${process.pid}-${randomHex(6)}`);
      mkdirSync(tmp);
      recordsOpened.set(tmp, Promise.all([openQuietly(join(tmp, 'blob')), openQuietly(join(tmp, RECORD))]));
      const path = join(tmp, 'fs');
      uppers.add(path);
      return {
        path,
        async discard() {
          if (!uppers.delete(path)) return;
          closeQuietly(...(await takeRecords(tmp)));
          await rm(tmp, { recursive: true, force: true });
        },
      };
    },

    async commitUpper(upper, parent, opts) {
      const own = uppers.delete(upper);
      const tmp = own ? dirname(upper) : join(dir, `.tmp-${process.pid}-${randomHex(6)}`);
      try {
        return await commit(upper, tmp, parent, opts);
      } catch (e) {
        throw sayNoSpace(e, 'writing the layer', root);
      } finally {
        // Installed, both are gone (one lstat each); otherwise they go with all they hold.
        closeQuietly(...(await takeRecords(tmp)));
        if (exists(tmp)) await rm(tmp, { recursive: true, force: true });
        if (exists(upper)) await rm(upper, { recursive: true, force: true });
      }
    },

    async removeLayers(layerBlobs) {
      let removed = 0;
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (name.startsWith('.tmp-') || NOT_SNAPSHOTS.has(name)) continue;
        const blob = (await readFile(join(dir, name, 'blob'), 'utf8').catch(() => '')).trim();
        if (!layerBlobs.has(blob as Sha256)) continue;
        await rm(join(dir, name), { recursive: true, force: true });
        removed++;
      }
      return removed;
    },

    gcHook: () => ({
      name: 'snapshots',
      async collect(live, _warn, leased) {
        let freed = 0;
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          if (NOT_SNAPSHOTS.has(name)) continue;
          const blob = (await readFile(join(dir, name, 'blob'), 'utf8').catch(() => '')).trim();
          // A blob GC spared (a live lease, the grace period) keeps its snapshot too, and so does one
          // a live lease names before it is in blobs/ (a build's last layer, flushed with its image).
          const spared = isSha256(blob) && (live.has(blob) || (await blobs.has(blob)) || (await leased?.(blob)) === true);
          if (!name.startsWith('.tmp-') && spared) continue;
          if (name.startsWith('.tmp-') && pidAlive(Number(name.split('-')[1]))) continue;
          freed += await du(join(dir, name));
          await rm(join(dir, name), { recursive: true, force: true });
        }
        pruneLinks(linkDir);
        return freed;
      },
    }),

    fsck: (known) => checkSnapshots(dir, blobs, known ?? new Map()),

    syncPoint(path) {
      // One stat of the snapshots dir per store; the upper dir's is a few microseconds.
      snapshotsDev ??= statSync(dir, { throwIfNoEntry: false })?.dev;
      const dev = statSync(path, { throwIfNoEntry: false })?.dev;
      return dev !== undefined && dev === snapshotsDev ? { at: Date.now() - 1 } : undefined;
    },

    synced(point) {
      coveredAt = Math.max(coveredAt, point.at);
    },

    async flush(opts) {
      await swept;
      if (newestMade === 0) return;
      const covered = newestMade <= coveredAt;
      newestMade = 0;
      // Every snapshot installed counts as made before a sync that has completed: its marker is
      // all that is left to write (no process to start at the end of every build).
      if (covered) noteSynced(dir, coveredAt);
      else await syncSnapshots(dir, opts);
    },
  };
}


/** A record's content: through the descriptor opened for it beforehand, else into a new file. */
function writeRecord(path: string, fd: number | undefined, data: string): void {
  if (fd === undefined) writeFileSync(path, data);
  else writeFileSync(fd, data);
}

function closeQuietly(...fds: (number | undefined)[]): void {
  for (const fd of fds) {
    if (fd === undefined) continue;
    try {
      closeSync(fd);
    } catch {
      // already closed: nothing to release
    }
  }
}

/**
 * Removes temp dirs left by processes that died mid-unpack. In the background, waited for only by
 * flush(): a temp dir of this process carries its pid and is never the sweep's business, and the
 * listing of every snapshot took ~0.6 ms of a build's first file step at 800 snapshots here
 * (bench/README.md, "Speed, eleventh round"). Never rejects: a dir it cannot remove is the next one's.
 */
async function sweep(dir: string): Promise<void> {
  const names = await new Promise<string[]>((resolve) => listDir(dir, (e, found) => resolve(e ? [] : found)));
  for (const name of names) {
    if (name.startsWith('.tmp-') && !pidAlive(Number(name.split('-')[1]))) await rm(join(dir, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

async function du(path: string): Promise<number> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of await readdir(path).catch(() => [] as string[])) n += await du(join(path, e));
  return n;
}
