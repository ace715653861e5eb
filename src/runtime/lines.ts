import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/**
 * Calls `onLine` for each complete line of `stream` as soon as it arrives (UTF-8 split across
 * chunks is reassembled), then for a final unterminated line. Resolves when the stream ends.
 */
export function forEachLine(stream: Readable, onLine: ((line: string) => void) | undefined): Promise<void> {
  const lines = new LineSplitter(onLine);
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => lines.write(chunk));
    stream.on('error', reject);
    stream.on('end', () => {
      lines.end();
      resolve();
    });
  });
}

/** Calls `onLine` for each complete line written to it (UTF-8 across chunks), then for a last unterminated one. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  constructor(private readonly onLine: ((line: string) => void) | undefined) {}

  write(chunk: Buffer): void {
    this.emit(this.decoder.write(chunk));
  }

  end(): void {
    this.emit(this.decoder.end());
    if (this.pending !== '') this.onLine?.(this.pending);
    this.pending = '';
  }

  private emit(text: string): void {
    this.pending += text;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      this.onLine?.(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
  }
}
