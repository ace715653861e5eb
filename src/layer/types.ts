import type { Readable } from 'node:stream';
import type { Sha256 } from '../hash/index.js';
import type { BlobStore } from '../store/index.js';
import type { Xattrs } from './xattr.js';

export type Compression = 'gzip' | 'zstd' | 'none';

/**
 * How a directory on disk encodes deletions:
 * - `overlay`: an overlayfs upper dir / snapshot (char 0/0 whiteouts, `trusted.overlay.opaque=y`)
 * - `plain`: an ordinary tree (nothing is a whiteout), e.g. a rootfs to import or a COPY result
 */
export type DirForm = 'overlay' | 'plain';

export interface LayerWriteOptions {
  readonly form: DirForm;
  readonly compression: Compression;
  /** Clamp every mtime to this instant (seconds since the epoch), as SOURCE_DATE_EPOCH asks. */
  readonly sourceDateEpoch?: number;
  /**
   * The tree's extended attributes when the caller has already read them (readTreeXattrs): saves
   * the getfattr process the writer would otherwise start.
   */
  readonly xattrs?: ReadonlyMap<string, Xattrs>;
  /** Ignored unless compression is 'none'. */
  readonly reuse?: TarReuse;
}

/** Where a regular file's entry (headers, content, padding) sits in a layer tar. */
export interface FileSpan {
  /** The file as `ino:birthtime`: equal only for the same file (or a hard link of it); '' unknown. */
  readonly inode: string;
  readonly offset: number;
  readonly length: number;
}

/**
 * Ties a layer tar to an earlier one, so a tree hard-linked from that layer's snapshot (an
 * incremental COPY) is not read file by file again: its unchanged entries are copied out of the
 * earlier blob. Only for layers stored as plain tar, where tar offsets are blob offsets.
 */
export interface TarReuse {
  /** The earlier plain-tar blob and where its files' entries are, by path. */
  readonly from?: { readonly blobPath: string; readonly spans: ReadonlyMap<string, FileSpan> };
  /** Told where each regular file's entry went, and whether it came out of `from`. */
  readonly onFile?: (path: string, span: FileSpan, spliced: boolean) => void;
}

/** A committed layer blob: diff_id of the uncompressed tar, digest/size of the stored blob. */
export interface LayerResult {
  readonly diffId: Sha256;
  readonly digest: Sha256;
  readonly size: number;
  readonly mediaType: string;
}

export interface ApplyOptions {
  /**
   * Target form. `overlay`: the target is one layer's snapshot dir, used as an overlay lower
   * (whiteouts become char 0/0, opaque markers `trusted.overlay.opaque=y`). `plain`: layers are
   * stacked into one tree (import, a rootfs): whiteouts delete, an opaque marker removes what
   * earlier layers put in that dir, wherever the marker sits in the tar.
   */
  readonly form: DirForm;
  /**
   * `apply` (default): `.wh.*` entries are OCI whiteouts. `literal`: they are ordinary files, for
   * extracting an archive that is not a layer (a build context sent as a tar). `skip`: they are
   * left out (ADD of a local tar: written into the image, such a file would become a whiteout in
   * the step's layer and delete the lower file of that name from the final image).
   */
  readonly whiteouts?: 'apply' | 'literal' | 'skip';
  /**
   * The target holds an earlier extraction of a similar archive (a build context streamed again):
   * a regular file whose size, mtime, mode and owner equal the entry's (one link, no xattrs) is
   * kept unwritten, and whatever the archive does not name is removed at the end. Trusts, as
   * docker's and git's caches do, that a file rewritten with the same size and mtime is unchanged.
   * Only for `plain` targets that nothing else writes to.
   */
  readonly reuse?: boolean;
  /**
   * The diff_id the layer must have: the uncompressed tar is hashed as it is applied and a
   * mismatch is refused (`layer.diff-id-mismatch`) after the last entry; the caller discards the
   * target then (snapshots unpack into a temp dir that is only renamed into place on success).
   */
  readonly diffId?: string;
  /** How errors name the layer ("layer sha256:… of app:1"). */
  readonly what?: string;
}

/**
 * The layer module's surface:
 *   writeLayer(dir, opts, blobs) → LayerResult   deterministic tar + sha256 + compression, one pass
 *   applyLayer(stream, target, opts)              safe extraction, whiteouts per the OCI spec
 * Both throw UserError (codes `layer.*`) for bad input; an unsafe entry is `layer.unsafe-entry`
 * and its message names the entry. writeLayer only needs a blob writer from the store.
 */
export interface LayerCodec {
  writeLayer(dir: string, opts: LayerWriteOptions, blobs: Pick<BlobStore, 'writer'> & Partial<Pick<BlobStore, 'putBytes'>>): Promise<LayerResult>;
  /** `stream` is the (possibly compressed) blob; compression is detected from content. */
  applyLayer(stream: Readable, target: string, opts: ApplyOptions): Promise<ApplyResult>;
}

export interface ApplyResult {
  /** Files a reused target already had (ApplyOptions.reuse): not written. */
  readonly kept: number;
}
