// Replies as dockerd writes them: JSON bodies, `{"message": …}` errors with the status docker
// uses for each kind of failure, and newline-delimited JSON streams for long operations.
import type { ServerResponse } from 'node:http';
import { isUserError } from '../api/index.js';

export function json(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

export function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** An HTTP error: its status and message (what the docker CLI prints after `Error response from daemon:`). */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The status a failure maps to: 404 for a missing image, 409 for a conflict, 400 for other user errors, 500 for bugs. */
export function statusOf(e: unknown): number {
  if (e instanceof HttpError) return e.status;
  if (isUserError(e)) {
    if (e.code === 'image.not-found' || e.code.endsWith('.not-found') || e.code === 'load.no-input') return 404;
    if (e.code.includes('conflict')) return 409;
    return 400;
  }
  return 500;
}

export function messageOf(e: unknown): string {
  if (isUserError(e)) return e.hint ? `${e.message} (${e.hint})` : e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A newline-delimited JSON stream (build, pull, push, load), started with status 200. */
export function jsonStream(res: ServerResponse): { send(msg: unknown): void; end(): void } {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  return {
    send: (msg) => {
      if (!res.destroyed) res.write(JSON.stringify(msg) + '\r\n');
    },
    end: () => res.end(),
  };
}

/** The message of a failure in a stream, as dockerd writes it. */
export const streamError = (e: unknown) => ({ errorDetail: { message: messageOf(e) }, error: messageOf(e) });
