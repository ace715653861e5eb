import type { Readable } from 'node:stream';
import type { Sha256 } from '../hash/index.js';

/** An OCI content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Sha256;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly architecture: string; readonly os: string; readonly variant?: string };
}

/** Where a blob is written while its digest is computed; committed under its digest name. */
export interface BlobWriter {
  /** The chunk may still be being written when this resolves: the caller must not change it afterwards. */
  write(chunk: Uint8Array): Promise<void>;
  /** fsync + rename to blobs/sha256/<digest>; idempotent if the blob already exists. */
  commit(expected?: Sha256): Promise<{ digest: Sha256; size: number }>;
  /** Removes the temp file. Safe to call after commit (no-op). */
  abort(): Promise<void>;
}

/** A BlobWriter that can keep what it wrote for a later run to continue (interrupted downloads). */
export interface ResumableBlobWriter extends BlobWriter {
  /** Bytes kept from an earlier, interrupted attempt (0 when none): feed them back first (readKept). */
  readonly offset: number;
  /** The kept bytes, to be passed through write() again so the whole blob is hashed. */
  readKept(): Readable;
  /** Drops the kept bytes (the source cannot continue from `offset`); only before any write. */
  restart(): Promise<void>;
  /** Stops, leaving what was written for a later resume (instead of removing it as abort does). */
  keepForResume(): Promise<void>;
}

/**
 * The content-addressed part of the store: `<root>/blobs/sha256/<hex>` of an OCI image layout.
 * Reads verify digest and size.
 */
export interface BlobStore {
  readonly root: string;
  has(digest: Sha256): Promise<boolean>;
  /** Size of a present blob, undefined if absent. */
  stat(digest: Sha256): Promise<number | undefined>;
  putBytes(data: Uint8Array | string, expected?: Sha256): Promise<{ digest: Sha256; size: number }>;
  /** Several at once, each as putBytes; where it exists the new ones' fsyncs run together. */
  putBytesAll?(items: readonly (Uint8Array | string)[], expected?: readonly (Sha256 | undefined)[]): Promise<{ digest: Sha256; size: number }[]>;
  /**
   * As putBytes, but where it exists a small new blob's fsync and rename into blobs/ may wait for
   * the next blob stored or settle() (the blob is absent until then).
   */
  putBytesDeferred?(data: Uint8Array | string, expected?: Sha256): Promise<{ digest: Sha256; size: number }>;
  /** Every putBytesDeferred blob so far is in blobs/. */
  settle?(): Promise<void>;
  putStream(src: Readable, expected?: Sha256): Promise<{ digest: Sha256; size: number }>;
  writer(): Promise<BlobWriter>;
  /** A writer for a blob being downloaded whose bytes outlive an interruption (absent: no resume). */
  resumableWriter?(digest: Sha256): Promise<ResumableBlobWriter>;
  /** A verifying stream: errors at end if the bytes do not hash to `digest` (or size differs). */
  openRead(digest: Sha256, expectedSize?: number): Readable;
  readBytes(digest: Sha256, expectedSize?: number): Promise<Buffer>;
  readJSON<T>(digest: Sha256, expectedSize?: number): Promise<T>;
  /** Path of the blob file, for tools that need a file (read-only use). */
  path(digest: Sha256): string;
  /** A private temp dir under `<root>/tmp/` removed by the caller (and swept at start). */
  tempDir(prefix: string): Promise<string>;
}

/**
 * Keeps blobs alive across GC while a build or import is between writing blobs and tagging the
 * result. Write through `blobs` (every committed blob is protected), `add` blobs reused from
 * elsewhere, and `release` when the result is tagged (a dead process's lease lapses by itself).
 */
export interface Lease {
  readonly blobs: BlobStore;
  add(digest: Sha256): Promise<void>;
  release(): Promise<void>;
}
