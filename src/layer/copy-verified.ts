/** One pass over a downloaded layer: copied as it is, verified, and optionally unpacked. */
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { applyLayer } from './apply.js';
import { verifyLayer } from './verify.js';

/**
 * Copies a (possibly compressed) layer blob into `sink` as it is, checking in the same pass what
 * verifyLayer checks (entry paths, diff_id): one read of the blob instead of two. With `unpackInto`
 * (an empty, private dir), the layer is also applied there in overlay form in that same pass (one
 * decompression, one hash of the tar), as the snapshot store would unpack it. The caller commits
 * what the sink wrote, and makes the unpacked dir visible, only if this resolves.
 */
export async function copyVerifiedLayer(src: Readable, diffId: string, what: string, sink: (chunk: Buffer) => Promise<void>, unpackInto?: string): Promise<void> {
  const pass = new PassThrough({ highWaterMark: 1 << 20 });
  const checked = unpackInto === undefined ? verifyLayer(pass, diffId, what) : applyLayer(pass, unpackInto, { form: 'overlay', diffId, what });
  // A refusal stops the copy at once (and never leaves it waiting for a drain that cannot come).
  checked.catch((e: unknown) => pass.destroy(e as Error));
  // The check may finish before the blob does (bytes after a gzip stream's end are never read):
  // then nothing drains `pass` any more, so stop feeding it rather than wait for a drain.
  let settled: 'ok' | 'refused' | undefined;
  const done = checked.then(() => void (settled = 'ok'), () => void (settled = 'refused'));
  for await (const chunk of src as AsyncIterable<Buffer>) {
    if (settled === 'refused') break;
    await sink(chunk);
    if (!settled && !pass.write(chunk)) await Promise.race([once(pass, 'drain'), done]);
  }
  pass.end();
  await checked;
}
