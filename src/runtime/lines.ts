import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/**
 * Calls `onLine` for each complete line of `stream` as soon as it arrives (UTF-8 split across
 * chunks is reassembled), then for a final unterminated line. Resolves when the stream ends.
 */
export function forEachLine(stream: Readable, onLine: ((line: string) => void) | undefined): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const emit = (text: string): void => {
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onLine?.(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
  };
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => emit(decoder.write(chunk)));
    stream.on('error', reject);
    stream.on('end', () => {
      emit(decoder.end());
      if (pending !== '') onLine?.(pending);
      pending = '';
      resolve();
    });
  });
}
