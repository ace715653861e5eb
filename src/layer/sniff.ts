import { openRegularFile } from '../util/index.js';
import { decompressed } from './compress.js';
import { decodeHeader } from './tar-header.js';

/**
 * ADD's archive test, as BuildKit's: the file, decompressed if it is gzip/bzip2/xz/zstd, must start
 * with a valid tar header. A compressed file that is not a tar (a .gz of plain text) is no archive.
 */
export async function isTarArchive(path: string, what = path): Promise<boolean> {
  // Only a regular file is read: a FIFO would hang, a device never end (a clear error instead).
  const raw = (await openRegularFile(path, { maxBytes: Number.MAX_SAFE_INTEGER, what, followSymlink: true })).createReadStream();
  let plain: NodeJS.ReadableStream & { destroy(): void } | undefined;
  try {
    plain = await decompressed(raw);
    let head = Buffer.alloc(0);
    for await (const chunk of plain as AsyncIterable<Buffer>) {
      head = Buffer.concat([head, chunk]);
      if (head.length >= 512) break;
    }
    return head.length >= 512 && decodeHeader(head.subarray(0, 512)).kind === 'header';
  } catch {
    // A corrupt stream is not an archive: it is copied as it is.
    return false;
  } finally {
    plain?.destroy();
    raw.destroy();
  }
}
