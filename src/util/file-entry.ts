/**
 * The record every file entry shares, whether it was seen by lstat in a build context
 * (context/walk.ts), hashed into a tree digest (context/treedigest.ts), written as a tar header
 * (layer/tar-header.ts) or read from a tar (layer/tar-reader.ts): one declaration, so the four
 * agree on the names and meaning of the fields. Each narrows `type` to the kinds it can meet and
 * adds its own fields.
 */

/**
 * Every kind of entry: `hardlink`, `char`, `block` and `fifo` are what a tar header can say;
 * `other` is what a context walk calls whatever is not a file, directory or symlink.
 */
export type FileType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

export interface FileEntry<T extends FileType = FileType> {
  /** Slash-separated and relative (to the context root, or inside the archive). */
  readonly path: string;
  readonly type: T;
  /** Permission bits with setuid, setgid and sticky (mode & 0o7777); the kind is `type`. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
}
