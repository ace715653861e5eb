import { readFile, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isSha256, sha256FromHex, Sha256Stream, type Sha256 } from '../hash/index.js';
import { fsyncAll, fsyncDir, fsyncDirSync, readdirQuiet, UserError } from '../util/index.js';
import { FsBlobStore, LeasedBlobStore, sweepPartial } from './blobs.js';
import { acquireLock, pidAlive, type Lock } from './lock.js';
import { closeStore, sweepDeadTemp } from './private.js';
import { keepSpare, removeSpares, takeSpare } from './spares.js';
import { emptyIndex, MEDIA_TYPE_INDEX, tagOf, withTag, withoutTag, type OciIndex, type TagEntry } from './oci-index.js';
import { fullName, type Reference } from './reference.js';
import { walk } from './walk.js';
import type { BlobStore, Descriptor, Lease } from './types.js';

/**
 * Lets modules that keep their own data beside the blobs (snapshots, build cache) take part in GC:
 * `roots` adds blobs to keep (e.g. layers a cache record still uses), `collect` removes what the
 * module owns that is no longer reachable, and reports the bytes it freed. Both run under the lock.
 * A record a hook cannot read is skipped and reported through `warn` (the CLI prints it).
 */
export interface GcHook {
  readonly name: string;
  roots?(warn?: (message: string) => void): Promise<Iterable<Descriptor>>;
  /**
   * `leased` says whether a live lease names a digest, read at its first call (after whatever the
   * hook listed): a build's last layer is leased before anything names it and renamed into blobs/
   * only later (FsBlobStore.putBytesDeferred), so its snapshot, installed meanwhile, is spared.
   */
  collect?(live: ReadonlySet<Sha256>, warn?: (message: string) => void, leased?: (digest: Sha256) => Promise<boolean>): Promise<number>;
}

export interface GcReport {
  readonly blobsRemoved: number;
  readonly bytesReclaimed: number;
  readonly tempRemoved: number;
  /** Records GC skipped because they could not be read (see GcHook). */
  readonly warnings: readonly string[];
}

export interface FsckProblem {
  readonly kind: 'missing' | 'corrupt' | 'size-mismatch' | 'unreadable' | 'bad-index';
  readonly digest?: Sha256;
  readonly message: string;
}

export interface FsckReport {
  readonly problems: FsckProblem[];
  /** Blobs present but referenced by no tag (those in `keptBy` too; the rest `wharf prune` removes). */
  readonly unreferenced: Sha256[];
  /** Unreferenced blobs a GC hook keeps (build cache layers, push's compressed copies): blob → hook name. */
  readonly keptBy: ReadonlyMap<Sha256, string>;
  readonly checked: number;
}

export interface StoreOptions {
  readonly gcHooks?: readonly GcHook[];
  readonly lockTimeoutMs?: number;
}

/** The whole store: blobs plus tags in index.json, GC and fsck. */
export interface Store extends BlobStore {
  /**
   * A `kind` dir kept in the store by an earlier command (spares.ts), now a private temp dir as
   * tempDir's, with what it held; undefined when there is none.
   */
  takeSpare(kind: string): string | undefined;
  /** Keeps a dir for a later takeSpare (moved away); false when enough are kept: remove it. */
  keepSpare(kind: string, path: string): boolean;
  tags(): Promise<TagEntry[]>;
  /** The manifest descriptor a reference names: by digest (any present manifest) or by tag. */
  resolve(ref: Reference): Promise<Descriptor | undefined>;
  setTag(ref: Reference, manifest: Descriptor): Promise<void>;
  /** Removes a tag; returns the descriptor it pointed at, undefined if there was no such tag. */
  removeTag(ref: Reference): Promise<Descriptor | undefined>;
  /** Runs `fn` holding the store lock (index.json updates and GC take it). */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Blobs unreachable from index.json (and hooks) are deleted, except those in a live lease and,
   * while any lease is live, those written in the last LEASE_GRACE_MS (a leased writer may be
   * between renaming a blob and recording it).
   */
  gc(): Promise<GcReport>;
  fsck(): Promise<FsckReport>;
  lease(): Promise<Lease>;
  readonly tmpDir: string;
}

/** How long a fresh blob is spared by GC while some lease is live. */
export const LEASE_GRACE_MS = 10 * 60_000;

const LAYOUT = '{"imageLayoutVersion":"1.0.0"}';

/** Opens (creating on first use) an OCI image layout at `root`, sweeping dead writers' temp files. */
export async function openStore(root: string, opts: StoreOptions = {}): Promise<Store> {
  const s = new OciStore(root, opts);
  await s.init();
  return s;
}

class OciStore extends FsBlobStore implements Store {
  private readonly indexPath: string;
  private readonly lockPath: string;

  constructor(root: string, private readonly opts: StoreOptions) {
    super(root);
    this.indexPath = join(root, 'index.json');
    this.lockPath = join(root, 'lock');
  }

  // Synchronous, like readIndex below: every command opens the store, and on a cached build these
  // few metadata calls were a thread-pool round trip each on the critical path.
  async init(): Promise<void> {
    try {
      closeStore(this.root);
      mkdirSync(this.blobDir, { recursive: true });
    } catch (e) {
      throw new UserError('store.unusable', `cannot create the store at ${this.root}: ${(e as Error).message}`, 'pass a writable directory with --root or WHARF_ROOT');
    }
    await this.sweepTemp();
    if (!existsSync(join(this.root, 'oci-layout')) || !existsSync(this.indexPath)) {
      await this.withLock(async () => {
        if (!existsSync(join(this.root, 'oci-layout'))) await this.writeRootFile('oci-layout', LAYOUT);
        if (!existsSync(this.indexPath)) await this.writeRootFile('index.json', JSON.stringify(emptyIndex()));
      });
    }
  }

  takeSpare(kind: string): string | undefined {
    mkdirSync(this.tmpDir, { recursive: true });
    const dest = this.tempPath(kind);
    return takeSpare(this.root, kind, dest) ? dest : undefined;
  }

  keepSpare(kind: string, path: string): boolean {
    return keepSpare(this.root, kind, path);
  }

  /** Removes temp files and dirs of processes that are gone (and their mounts); returns how many. */
  private sweepTemp(): Promise<number> {
    return sweepDeadTemp(this.tmpDir);
  }

  /**
   * index.json and oci-layout: small, written synchronously (temp file, fsync, rename, fsync of the
   * root). Before index.json moves, blobs/ is fsynced: the renames of the blobs it names (by this
   * process or another) are made durable there (see FsBlobStore). That fsync and the temp file's
   * run at once (fsyncAll): two flushes in a row were 0.5 ms here, 2-4 ms on a disk gone idle.
   */
  private async writeRootFile(name: string, data: string): Promise<void> {
    const tmp = this.tempPath(name);
    const fds = [openSync(tmp, 'wx', 0o644)];
    try {
      writeFileSync(fds[0]!, data);
      if (name === 'index.json' && existsSync(this.blobDir)) fds.push(openSync(this.blobDir, 'r'));
      await fsyncAll(fds);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    renameSync(tmp, join(this.root, name));
    fsyncDirSync(this.root);
  }

  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const lock: Lock = await acquireLock(this.lockPath, this.tmpDir, { timeoutMs: this.opts.lockTimeoutMs });
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }

  async readIndex(): Promise<OciIndex> {
    return this.readIndexText().index;
  }

  private readIndexText(): { index: OciIndex; text: string } {
    let text: string;
    try {
      text = readFileSync(this.indexPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { index: emptyIndex(), text: '' };
      throw e;
    }
    try {
      const idx = JSON.parse(text) as OciIndex;
      if (idx.schemaVersion !== 2 || !Array.isArray(idx.manifests)) throw new Error('not an image index');
      return { index: idx, text };
    } catch (e) {
      throw new UserError('store.bad-index', `${this.indexPath} is not a valid OCI image index: ${(e as Error).message}`);
    }
  }

  private async updateIndex(fn: (idx: OciIndex) => OciIndex): Promise<void> {
    const serialize = (idx: OciIndex): string => JSON.stringify({ ...idx, mediaType: idx.mediaType ?? MEDIA_TYPE_INDEX });
    // A rebuild that tags the image it tagged last time changes nothing: without the lock, the
    // write and its two fsyncs, it is as if it had run just before any concurrent update.
    const now = this.readIndexText();
    if (now.text && serialize(fn(now.index)) === now.text) return;
    await this.withLock(async () => {
      const cur = this.readIndexText();
      const next = serialize(fn(cur.index));
      if (next !== cur.text) await this.writeRootFile('index.json', next);
    });
  }

  async tags(): Promise<TagEntry[]> {
    const out: TagEntry[] = [];
    for (const d of (await this.readIndex()).manifests) {
      const t = tagOf(d);
      if (t) out.push(t);
    }
    return out;
  }

  async resolve(ref: Reference): Promise<Descriptor | undefined> {
    const idx = await this.readIndex();
    if (ref.digest) {
      const listed = idx.manifests.find((d) => d.digest === ref.digest);
      if (listed) return stripNames(listed);
      // An untagged manifest still in the blobs (e.g. `name@sha256:…` of a pulled image).
      const size = await this.stat(ref.digest);
      if (size === undefined) return undefined;
      const doc = await this.readJSON<{ mediaType?: string; config?: unknown; manifests?: unknown }>(ref.digest, size).catch(() => undefined);
      if (!doc || (!doc.config && !doc.manifests)) return undefined;
      const mediaType = doc.mediaType ?? (doc.manifests ? MEDIA_TYPE_INDEX : 'application/vnd.oci.image.manifest.v1+json');
      return { mediaType, digest: ref.digest, size };
    }
    const name = fullName({ domain: ref.domain, path: ref.path, tag: ref.tag });
    const hit = idx.manifests.find((d) => tagOf(d)?.name === name);
    return hit ? stripNames(hit) : undefined;
  }

  async setTag(ref: Reference, manifest: Descriptor): Promise<void> {
    if (ref.tag === undefined) throw new UserError('store.tag-required', `cannot tag ${fullName(ref)}: a tag name is needed`);
    if (!(await this.has(manifest.digest))) throw new UserError('store.blob-missing', `cannot tag ${fullName(ref)}: manifest ${manifest.digest} is not in ${this.root}`);
    await this.updateIndex((idx) => withTag(idx, ref, manifest));
  }

  async removeTag(ref: Reference): Promise<Descriptor | undefined> {
    let removed: Descriptor | undefined;
    await this.updateIndex((idx) => {
      const r = withoutTag(idx, ref);
      removed = r.removed;
      return r.index;
    });
    return removed;
  }

  async lease(): Promise<Lease> {
    mkdirSync(this.tmpDir, { recursive: true });
    const path = this.tempPath('lease');
    writeFileSync(path, '', { flag: 'wx', mode: 0o644 });
    const blobs = new LeasedBlobStore(this.root, path);
    return { blobs, add: (d) => blobs.add(d), release: () => blobs.release() };
  }

  /** Digests held by leases of live processes, and whether any such lease exists. */
  private async liveLeases(): Promise<{ any: boolean; digests: Set<string> }> {
    const digests = new Set<string>();
    let any = false;
    for (const name of readdirQuiet(this.tmpDir)) {
      const [pid, kind] = name.split('.');
      if (kind !== 'lease' || !pidAlive(Number(pid))) continue;
      const text = await readFile(join(this.tmpDir, name), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      any = true;
      for (const line of text.split('\n')) if (line) digests.add(line);
    }
    return { any, digests };
  }

  private async reachable(roots: Descriptor[]) {
    return walk(roots, (d) => this.readJSON(d.digest, d.size));
  }

  private async presentBlobs(): Promise<string[]> {
    return readdir(this.blobDir).catch(() => [] as string[]);
  }

  async gc(): Promise<GcReport> {
    return this.withLock(async () => {
      const started = Date.now();
      // Listed before roots and leases are read: a leased writer records a blob before it
      // appears here, so anything listed is either in a lease read below or truly garbage.
      const present = await this.presentBlobs();
      const warnings: string[] = [];
      const warn = (m: string) => void warnings.push(m);
      const roots = [...(await this.readIndex()).manifests];
      for (const h of this.opts.gcHooks ?? []) if (h.roots) roots.push(...(await h.roots(warn)));
      const live = await this.reachable(roots);
      if (live.errors.length) {
        // Deleting with an incomplete picture could remove blobs a damaged manifest still needs.
        throw new UserError('store.gc-incomplete', `cannot collect garbage: ${live.errors.length} manifest(s) unreadable (first: ${live.errors[0]!.digest})`, 'run `wharf fsck` to see what is damaged');
      }
      const leases = await this.liveLeases();
      let blobsRemoved = 0;
      let bytesReclaimed = 0;
      for (const hex of present) {
        const d = isSha256(`sha256:${hex}`) ? sha256FromHex(hex) : undefined;
        if (d && (live.blobs.has(d) || leases.digests.has(d))) continue;
        const p = join(this.blobDir, hex);
        const st = await stat(p).catch(() => undefined);
        if (leases.any && st && st.mtimeMs > started - LEASE_GRACE_MS) continue;
        const size = st?.size ?? 0;
        await unlink(p).catch(() => undefined);
        blobsRemoved++;
        bytesReclaimed += size;
      }
      if (blobsRemoved) await fsyncDir(this.blobDir);
      const keys = new Set(live.blobs.keys());
      for (const h of this.opts.gcHooks ?? []) {
        if (!h.collect) continue;
        let held: Promise<Set<string>> | undefined;
        const leased = async (d: Sha256) => (await (held ??= this.liveLeases().then((l) => l.digests))).has(d);
        bytesReclaimed += await h.collect(keys, warn, leased);
      }
      const tempRemoved = (await this.sweepTemp()) + (await sweepPartial(this.root)) + (await removeSpares(this.root));
      return { blobsRemoved, bytesReclaimed, tempRemoved, warnings };
    });
  }

  /** Holds the lock so a concurrent rmi/GC cannot make a blob look missing halfway through. */
  async fsck(): Promise<FsckReport> {
    return this.withLock(() => this.check());
  }

  private async check(): Promise<FsckReport> {
    const problems: FsckProblem[] = [];
    let index: OciIndex;
    try {
      index = await this.readIndex();
    } catch (e) {
      return { problems: [{ kind: 'bad-index', message: (e as Error).message }], unreferenced: [], keptBy: new Map(), checked: 0 };
    }
    const live = await this.reachable(index.manifests);
    for (const [digest, d] of live.blobs) {
      const size = await this.stat(digest);
      if (size === undefined) {
        problems.push({ kind: 'missing', digest, message: `blob ${digest} (${d.mediaType}) is referenced but missing` });
        continue;
      }
      if (size !== d.size) {
        problems.push({ kind: 'size-mismatch', digest, message: `blob ${digest} has ${size} bytes, its descriptor says ${d.size}` });
        continue;
      }
      const actual = await hashFile(this.path(digest)).catch(() => undefined);
      if (actual !== digest) problems.push({ kind: 'corrupt', digest, message: `blob ${digest} does not match its digest (content hashes to ${actual ?? 'unreadable'})` });
    }
    for (const e of live.errors) {
      if (!problems.some((p) => p.digest === e.digest)) problems.push({ kind: 'unreadable', digest: e.digest, message: `manifest ${e.digest}: ${(e.error as Error).message}` });
    }
    const unreferenced: Sha256[] = [];
    for (const hex of await this.presentBlobs()) {
      const d = isSha256(`sha256:${hex}`) ? sha256FromHex(hex) : undefined;
      if (!d) problems.push({ kind: 'corrupt', message: `blobs/sha256/${hex} is not named by a sha256 digest` });
      else if (!live.blobs.has(d)) unreferenced.push(d);
    }
    // What GC would keep anyway, and why: the first hook that roots it names it.
    const keptBy = new Map<Sha256, string>();
    if (unreferenced.length) {
      for (const h of this.opts.gcHooks ?? []) {
        if (!h.roots) continue;
        const kept = await this.reachable([...(await h.roots())]);
        for (const d of unreferenced) if (kept.blobs.has(d) && !keptBy.has(d)) keptBy.set(d, h.name);
      }
    }
    return { problems, unreferenced, keptBy, checked: live.blobs.size };
  }
}

function stripNames(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.platform ? { platform: d.platform } : {}) };
}


async function hashFile(p: string): Promise<Sha256> {
  const h = new Sha256Stream();
  for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  return h.digest();
}
