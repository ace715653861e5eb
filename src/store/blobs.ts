import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { isSha256, PooledSha256, Sha256Stream, sha256Hex, sha256Of, type Sha256 } from '../hash/index.js';
import { fsyncAll, randomHex, readdirQuiet, sayNoSpace, UserError } from '../util/index.js';
import type { BlobStore, BlobWriter, ResumableBlobWriter } from './types.js';
import { pidAlive } from './lock.js';
import { DIRECT_CHUNK, DirectWriter } from './direct-write.js';

/** Blobs up to this size are read synchronously. */
const SMALL_BLOB = 1 << 20;
/**
 * Blobs up to this size are written synchronously (putBytes): a small layer, a config or a
 * manifest went through ten thread-pool round trips (open, write, hash, digest, fsync, close,
 * rename, the directory's open, fsync and close), 2-7 ms of every step next to a busy runtime.
 * Hashing this much on this thread takes ~0.2 ms.
 */
export const SMALL_WRITE = 256 * 1024;

/**
 * The blob half of the OCI layout: `blobs/sha256/<hex>`, written through `tmp/` (named
 * `<pid>.<what>.<random>` so the sweep at open can tell a dead writer's leftovers from a live one's).
 *
 * A blob's bytes are fsynced before its rename into blobs/, so a name there never holds anything
 * else; the rename itself becomes durable with the fsync of blobs/ that comes before every move
 * of index.json (Store), the only durable file that names blobs, or with the syncfs a build ends
 * with. A power loss can lose the name of a blob nothing durable names yet: a cache record that
 * names it (records are not fsynced either) is then a miss, and a snapshot made with it is kept
 * only when a syncfs after it finished, which synced the name too. One fsync of blobs/ for every
 * blob was 0.1-0.5 ms each here (more while the journal holds a step's files).
 */
export class FsBlobStore implements BlobStore {
  readonly blobDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.blobDir = join(root, 'blobs', 'sha256');
    this.tmpDir = join(root, 'tmp');
  }

  path(digest: Sha256): string {
    // A digest from a manifest of unknown origin must not name a path outside blobs/.
    if (!isSha256(digest)) throw new UserError('store.bad-digest', `${JSON.stringify(digest)} is not a sha256 digest`);
    // blobDir is normalised (join in the constructor); a hex digest needs no normalising.
    return `${this.blobDir}/${sha256Hex(digest)}`;
  }

  async has(digest: Sha256): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  async stat(digest: Sha256): Promise<number | undefined> {
    // Synchronous: one stat answers from the inode cache in microseconds, and a cached step asks
    // once for its layer; through the thread pool, 100 cached steps waited ~20 ms in a row.
    try {
      const s = statSync(this.path(digest), { throwIfNoEntry: false });
      return s?.isFile() ? s.size : undefined;
    } catch {
      return undefined;
    }
  }

  /** A fresh temp path under tmp/, owned by this process. */
  tempPath(what: string): string {
    return join(this.tmpDir, `${process.pid}.${what}.${randomHex(8)}`);
  }

  async tempDir(prefix: string): Promise<string> {
    // Synchronous: microseconds of local metadata work, where a thread-pool round trip can wait
    // behind a layer's fsyncs (each RUN and file step makes one).
    mkdirSync(this.tmpDir, { recursive: true });
    return mkdtempSync(join(this.tmpDir, `${process.pid}.${prefix.replace(/[^\w-]/g, '_')}.`));
  }

  async writer(): Promise<BlobWriter> {
    await mkdir(this.tmpDir, { recursive: true });
    const tmp = this.tempPath('blob');
    let fh: FileHandle;
    try {
      fh = await open(tmp, 'wx', 0o644);
    } catch (e) {
      throw sayNoSpace(e, 'writing a blob', this.root);
    }
    return new FsBlobWriter(this, tmp, fh, this.beforePublish, 0, (start) => DirectWriter.create(tmp, fh, start));
  }

  /**
   * A writer for `digest` that keeps its bytes if the download is interrupted, in
   * `partial/<hex>.<pid>.<random>` (not a blob, and not under tmp/, whose sweep would remove it
   * with its dead owner). It takes over the bytes a dead process left for the same digest; the
   * caller feeds the kept bytes back through write() (they are hashed again, not rewritten), then
   * the rest. A live process's partial file is never taken: two pulls of one blob write their own.
   */
  async resumableWriter(digest: Sha256): Promise<ResumableBlobWriter> {
    this.path(digest); // refuses a digest that is not one
    const hex = sha256Hex(digest);
    const dir = join(this.root, PARTIAL_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const mine = join(dir, `${hex}.${process.pid}.${randomHex(8)}`);
    let offset = 0;
    let claimed = false;
    for (const name of readdirQuiet(dir)) {
      if (!name.startsWith(`${hex}.`) || pidAlive(partialOwner(name))) continue;
      try {
        // Renamed to our name: of two processes claiming it at once, one rename fails.
        await rename(join(dir, name), mine);
        claimed = true;
        offset = statSync(mine).size;
        break;
      } catch {
        // claimed by another process first
      }
    }
    let fh: FileHandle;
    try {
      // A claimed file may be empty (its owner died before writing): it is ours all the same.
      fh = await open(mine, claimed ? 'r+' : 'wx', 0o644);
    } catch (e) {
      throw sayNoSpace(e, 'writing a blob', this.root);
    }
    return new FsBlobWriter(this, mine, fh, this.beforePublish, offset);
  }

  /** Called with a blob's digest just before it is renamed into blobs/ (leases record it here). */
  protected beforePublish?: (digest: Sha256) => Promise<void>;

  async putBytes(data: Uint8Array | string, expected?: Sha256): Promise<{ digest: Sha256; size: number }> {
    const [put] = await this.putBytesAll([data], [expected]);
    return put!;
  }

  /**
   * Several blobs at once (an image's config and manifest), each as putBytes stores it; the small
   * ones new to the store are fsynced together (fsyncAll): one flush where there was one per blob,
   * 0.3 ms each here, 1-2 ms on a disk gone idle.
   */
  async putBytesAll(items: readonly (Uint8Array | string)[], expected: readonly (Sha256 | undefined)[] = []): Promise<{ digest: Sha256; size: number }[]> {
    const out: { digest: Sha256; size: number }[] = [];
    const small: { bytes: Uint8Array; digest: Sha256 }[] = [];
    for (const [i, data] of items.entries()) {
      const { digest, size, bytes } = await this.toStore(data, expected[i]);
      out.push({ digest, size });
      if (!bytes) continue;
      if (size <= SMALL_WRITE) small.push({ bytes, digest });
      else await this.putLarge(bytes, expected[i]);
    }
    await this.putSmall(small);
    return out;
  }

  /**
   * A blob about to be stored: its digest and size, and its bytes unless there is nothing to write
   * (stored already and freshened, or waiting in a putBytesDeferred temp file).
   */
  private async toStore(data: Uint8Array | string, expected: Sha256 | undefined): Promise<{ digest: Sha256; size: number; bytes?: Uint8Array }> {
    const digest = sha256Of(data);
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (expected !== undefined && expected !== digest) throw digestMismatch(expected, digest);
    if (this.unflushed.some((t) => t.digest === digest) || (await this.freshen(digest, size))) return { digest, size };
    return { digest, size, bytes: typeof data === 'string' ? Buffer.from(data) : data };
  }

  /**
   * A blob already stored (a rebuild's config and manifest) is not written again: two fsyncs
   * each, a third of a no-op build's waiting. It is leased and its mtime freshened instead,
   * which is all a concurrent GC looks at (see Store.gc). False when it is not there to reuse.
   */
  private async freshen(digest: Sha256, size: number): Promise<boolean> {
    if ((await this.stat(digest)) !== size) return false;
    await this.beforePublish?.(digest);
    const now = new Date();
    try {
      utimesSync(this.path(digest), now, now);
      return true;
    } catch {
      return false; // removed under us: written again
    }
  }

  private async putLarge(data: Uint8Array, expected: Sha256 | undefined): Promise<void> {
    const w = await this.writer();
    try {
      await w.write(data);
      await w.commit(expected);
    } finally {
      await w.abort();
    }
  }

  /**
   * The writer's steps (temp file, fsync, lease, rename) for each blob, synchronously but for the
   * fsyncs, which run together, with those of putBytesDeferred's blobs still waiting for theirs.
   */
  private async putSmall(blobs: readonly { bytes: Uint8Array; digest: Sha256 }[]): Promise<void> {
    await this.flushTemps([...this.unflushed.splice(0), ...this.writeTemps(blobs)]);
  }

  /** Each blob in a new temp file (see writeTemp); on a failure none is left behind. */
  private writeTemps(blobs: readonly { bytes: Uint8Array; digest: Sha256 }[]): SmallTemp[] {
    const temps: SmallTemp[] = [];
    try {
      if (blobs.length) mkdirSync(this.tmpDir, { recursive: true });
      for (const { bytes, digest } of blobs) temps.push({ ...this.writeTemp(bytes), digest });
    } catch (e) {
      for (const t of temps) discardTemp(t);
      throw sayNoSpace(e, 'writing a blob', this.root);
    }
    return temps;
  }

  /** `bytes` in a new temp file, in one synchronous write; its descriptor stays open for the fsync. */
  private writeTemp(bytes: Uint8Array): { tmp: string; fd: number } {
    const tmp = this.tempPath('blob');
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      discardTemp({ tmp, fd });
      throw e;
    }
    return { tmp, fd };
  }

  /** Fsyncs the temp files at once, then leases and renames each into blobs/ in order; what fails is removed. */
  private async flushTemps(temps: SmallTemp[]): Promise<void> {
    if (!temps.length) return;
    let published = 0;
    try {
      await fsyncAll(temps.map((t) => t.fd));
      mkdirSync(this.blobDir, { recursive: true });
      for (const t of temps) {
        await this.beforePublish?.(t.digest);
        // The rename is made durable by the fsync of blobs/ before index.json next moves (Store), not here.
        renameSync(t.tmp, this.path(t.digest));
        published++;
      }
    } catch (e) {
      for (const t of temps.slice(published)) rmSync(t.tmp, { force: true });
      throw sayNoSpace(e, 'writing a blob', this.root);
    } finally {
      for (const t of temps) closeSync(t.fd);
    }
  }

  /** putBytesDeferred's blobs in their temp files, their fsync and rename still to come. */
  private readonly unflushed: SmallTemp[] = [];

  /**
   * As putBytes, for a build's layers: a small blob new to the store is written to its temp file,
   * and its fsync and rename into blobs/ come with the next blob this store stores (the next
   * layer's, the image's config and manifest) or with settle(). Every build then waits for one
   * flush fewer: its last layer's joins the image's (bench/README.md, "Speed, eleventh round").
   * Until then the blob is absent to has() and reads, so a cache record naming it is a miss for
   * whoever looks, as after a crash before the rename (its temp file is swept with its dead
   * writer); at most one such blob waits at a time, so a kill -9 costs the cache of one step.
   */
  async putBytesDeferred(data: Uint8Array | string, expected?: Sha256): Promise<{ digest: Sha256; size: number }> {
    const { digest, size, bytes } = await this.toStore(data, expected);
    if (!bytes) return { digest, size };
    if (size > SMALL_WRITE) {
      await this.putLarge(bytes, expected);
      return { digest, size };
    }
    const [own] = this.writeTemps([{ bytes, digest }]) as [SmallTemp];
    // Leased now, not at the rename: GC (any process) keeps what names it meanwhile, such as the
    // step's snapshot, which the next step mounts.
    try {
      await this.beforePublish?.(digest);
    } catch (e) {
      discardTemp(own);
      throw e;
    }
    const before = this.unflushed.splice(0, this.unflushed.length, own);
    await this.flushTemps(before);
    return { digest, size };
  }

  /** Every putBytesDeferred blob is in blobs/ (fsynced, leased, renamed) when this returns. */
  async settle(): Promise<void> {
    await this.flushTemps(this.unflushed.splice(0));
  }

  async putStream(src: Readable, expected?: Sha256): Promise<{ digest: Sha256; size: number }> {
    const w = await this.writer();
    try {
      for await (const chunk of src) await w.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array));
      return await w.commit(expected);
    } finally {
      await w.abort();
    }
  }

  openRead(digest: Sha256, expectedSize?: number): Readable {
    // Hashed on the thread pool when the addon can (file reads are fresh buffers, never written
    // again): a pushed or unpacked blob's check then runs beside its use, not on this thread.
    const pooled = PooledSha256.create();
    const h = pooled ?? new Sha256Stream();
    const verify = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        if (!pooled) {
          (h as Sha256Stream).update(chunk);
          return cb(null, chunk);
        }
        // Passed on at once; the next chunk waits only while a few are still being hashed. The
        // last bytes go out before the hash is checked, but the stream fails (flush) when it is wrong.
        this.push(chunk);
        pooled.update(chunk).then(() => cb(), cb);
      },
      flush: (cb) => {
        void Promise.resolve(h.digest()).then((d) => cb(this.checkRead(digest, d, h.size, expectedSize) ?? null), cb);
      },
    });
    // 1 MiB reads, not 64 KiB: a pushed layer goes through a web stream chunk by chunk (a clone
    // and several promise hops each), and an unpacked one through gunzip and the tar reader.
    const src = createReadStream(this.path(digest), { highWaterMark: READ_CHUNK });
    src.on('error', (e) => verify.destroy(this.readError(digest, e)));
    return src.pipe(verify);
  }

  async readBytes(digest: Sha256, expectedSize?: number): Promise<Buffer> {
    let data: Buffer;
    try {
      // Manifests and configs (a few KB, read several times by every build) are read in one
      // synchronous call; through the thread pool each was four round trips on the critical path.
      data = expectedSize !== undefined && expectedSize <= SMALL_BLOB ? readFileSync(this.path(digest)) : await readFile(this.path(digest));
    } catch (e) {
      throw this.readError(digest, e);
    }
    const h = new Sha256Stream();
    h.update(data);
    const problem = this.checkRead(digest, h.digest(), h.size, expectedSize);
    if (problem) throw problem;
    return data;
  }

  async readJSON<T>(digest: Sha256, expectedSize?: number): Promise<T> {
    const data = await this.readBytes(digest, expectedSize);
    try {
      return JSON.parse(data.toString('utf8')) as T;
    } catch {
      throw new UserError('store.blob-not-json', `blob ${digest} in ${this.root} is not valid JSON`);
    }
  }

  private checkRead(digest: Sha256, actual: Sha256, size: number, expectedSize?: number): UserError | undefined {
    if (actual !== digest) {
      return new UserError('store.blob-corrupt', `blob ${digest} in ${this.root} is corrupt (its content hashes to ${actual})`, 'run `wharf fsck`; re-import or rebuild the image that uses it');
    }
    if (expectedSize !== undefined && size !== expectedSize) {
      return new UserError('store.blob-size', `blob ${digest} in ${this.root} has ${size} bytes, its descriptor says ${expectedSize}`, 'run `wharf fsck`');
    }
    return undefined;
  }

  private readError(digest: Sha256, e: unknown): Error {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return new UserError('store.blob-missing', `blob ${digest} is missing from ${this.root}`, 'run `wharf fsck`; re-import or rebuild the image that uses it');
    }
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** Bytes per read of a blob stream (openRead). */
const READ_CHUNK = 1 << 20;

/** Positional writes a blob writer keeps running at once (the thread pool has four threads). */
const WRITES_IN_FLIGHT = 3;

/** Where interrupted downloads keep their bytes (see resumableWriter). */
export const PARTIAL_DIR = 'partial';

/** The pid in a partial/ file name (`<hex>.<pid>.<random>`). */
export const partialOwner = (name: string): number => Number(name.split('.')[1]);

/** Removes partial downloads no live process owns (GC: a resume is given up); returns how many. */
export async function sweepPartial(root: string): Promise<number> {
  const dir = join(root, PARTIAL_DIR);
  let n = 0;
  for (const name of readdirQuiet(dir)) {
    if (pidAlive(partialOwner(name))) continue;
    await unlink(join(dir, name)).then(() => n++, () => undefined);
  }
  return n;
}

class FsBlobWriter implements ResumableBlobWriter {
  /** On the thread pool when the addon can (see PooledSha256), else on this thread. */
  private readonly hash: PooledSha256 | Sha256Stream = PooledSha256.create() ?? new Sha256Stream();
  private done = false;
  private closed = false;

  constructor(
    private readonly store: FsBlobStore,
    private readonly tmp: string,
    private readonly fh: FileHandle,
    private readonly beforePublish?: (digest: Sha256) => Promise<void>,
    private kept = 0,
    /**
     * Writes a large blob's bytes past DIRECT_CHUNK around the page cache (direct-write.ts); not
     * for resumable writers, which keep what is written.
     */
    private directFrom?: (start: number) => DirectWriter | undefined,
  ) {}

  private direct: DirectWriter | undefined;

  private keep = false;

  get offset(): number {
    return this.kept;
  }

  readKept(): Readable {
    return createReadStream(this.tmp, { end: this.kept - 1 });
  }

  async restart(): Promise<void> {
    if (this.position) throw new Error('BlobWriter.restart after write');
    await this.fh.truncate(0);
    this.kept = 0;
  }

  async keepForResume(): Promise<void> {
    this.keep = true;
    await this.abort();
  }

  /** Writes on the thread pool not yet finished, oldest first, and the first one that failed. */
  private readonly pending: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;
  private position = 0;

  /**
   * Hashes the chunk at once and writes it behind: up to WRITES_IN_FLIGHT positional writes run
   * while the caller makes the next chunks, so producing a layer (reading and hashing files) and
   * writing it overlap instead of taking turns (bench/README.md, "Where the time goes").
   */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.done) throw new Error('BlobWriter.write after commit/abort');
    if (this.failure) throw this.failure.error;
    const hashed = this.hash.update(chunk);
    const [plain, direct] = this.split(chunk);
    if (direct?.length) {
      await this.direct!.write(direct).catch((error: unknown) => {
        throw sayNoSpace(error, 'writing a blob', this.store.root);
      });
    }
    if (plain.length === 0) return await hashed;
    const at = this.position;
    this.position += plain.length;
    const p = this.writeAt(plain, at).catch((error: unknown) => void (this.failure ??= { error: sayNoSpace(error, 'writing a blob', this.store.root) }));
    this.pending.push(p);
    while (this.pending.length >= WRITES_IN_FLIGHT) await this.pending.shift();
    await hashed;
    const failed = this.failure as { error: unknown } | undefined;
    if (failed) throw failed.error;
  }

  /** What of `chunk` is written the plain way, and what past DIRECT_CHUNK goes around the page cache. */
  private split(chunk: Uint8Array): [plain: Uint8Array, direct?: Uint8Array] {
    if (this.directFrom && this.position + chunk.length > DIRECT_CHUNK) {
      this.direct = this.directFrom(DIRECT_CHUNK);
      this.directFrom = undefined; // asked once
    }
    if (!this.direct) return [chunk];
    const head = Math.max(0, DIRECT_CHUNK - this.position);
    return [chunk.subarray(0, head), chunk.subarray(head)];
  }

  /** Waits for every write behind; throws the first failure. */
  private async drain(): Promise<void> {
    await Promise.all(this.pending.splice(0));
    const failed = this.failure as { error: unknown } | undefined;
    if (failed) throw failed.error;
  }

  private async writeAt(chunk: Uint8Array, at: number): Promise<void> {
    // Bytes below `kept` are already in the file (a resumed download): hashed, not rewritten.
    for (let off = Math.max(0, this.kept - at); off < chunk.length; ) off += (await this.fh.write(chunk, off, chunk.length - off, at + off)).bytesWritten;
  }

  async commit(expected?: Sha256): Promise<{ digest: Sha256; size: number }> {
    if (this.done) throw new Error('BlobWriter.commit twice or after abort');
    this.done = true;
    const size = this.hash.size;
    let digest: Sha256;
    try {
      digest = await this.hash.digest();
      await this.direct?.finish();
      await this.drain();
      await this.fh.sync();
      await this.close();
      if (expected !== undefined && expected !== digest) throw digestMismatch(expected, digest);
      await this.beforePublish?.(digest);
      // Renamed even when the blob exists (same bytes, so harmless): the fresh mtime tells a
      // concurrent GC that someone just wrote it (see Store.gc).
      await mkdir(this.store.blobDir, { recursive: true });
      // Durable with the next index.json (see FsBlobStore).
      await rename(this.tmp, this.store.path(digest));
    } catch (e) {
      await this.drain().catch(() => undefined);
      await this.close().catch(() => undefined);
      await unlink(this.tmp).catch(() => undefined);
      throw sayNoSpace(e, 'writing a blob', this.store.root);
    }
    return { digest, size };
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.direct?.close();
    await this.fh.close();
  }

  async abort(): Promise<void> {
    const committed = this.done && this.closed;
    this.done = true;
    // No write may still be running on the descriptor when it is closed (its number is reused).
    await this.drain().catch(() => undefined);
    await this.close().catch(() => undefined);
    if (!committed && !this.keep) await unlink(this.tmp).catch(() => undefined);
  }
}

/**
 * Blobs written through a lease are listed in `tmp/<pid>.lease.<random>` before they appear in
 * blobs/, so GC (in any process) keeps them until the lease is released or its process dies —
 * the window between writing a build's layers and tagging its image.
 */
export class LeasedBlobStore extends FsBlobStore {
  constructor(
    root: string,
    readonly leasePath: string,
  ) {
    super(root);
    this.beforePublish = (d) => this.add(d);
  }

  private fd: number | undefined;
  private readonly added = new Set<Sha256>();

  /** Protects a blob that is already stored (e.g. a base image layer about to be reused). */
  async add(digest: Sha256): Promise<void> {
    // Synchronous, on a descriptor kept open, once per digest: every cached step of a build adds
    // its layer (thread-pool round trips were a third of a 100-step no-op build's waiting, and an
    // open/write/close per line still 300 system calls).
    if (this.added.has(digest)) return;
    this.fd ??= openSync(this.leasePath, 'a');
    writeSync(this.fd, digest + '\n');
    this.added.add(digest);
  }

  async release(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    // Synchronous: one unlink, where a thread-pool round trip cost 0.6-1.7 ms at a build's end.
    try {
      unlinkSync(this.leasePath);
    } catch {
      // gone already: nothing to release
    }
  }
}

/** A small blob's temp file, written and still open. */
interface SmallTemp {
  readonly tmp: string;
  readonly fd: number;
  readonly digest: Sha256;
}

function discardTemp(t: { readonly tmp: string; readonly fd: number }): void {
  closeSync(t.fd);
  rmSync(t.tmp, { force: true });
}

function digestMismatch(expected: Sha256, digest: Sha256): UserError {
  return new UserError('store.digest-mismatch', `content does not match its expected digest ${expected} (it hashes to ${digest})`);
}
