// What `wharf serve` is given by its caller (the CLI), and the small pieces every handler uses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImageStore, RegistryClientOptions } from '../api/index.js';
import type { ServeTlsOptions } from './tls.js';

export interface ServeOptions {
  /** The store root every request builds into and reads from. */
  readonly root: string;
  /** `unix:///path.sock` or `tcp://HOST:PORT` (loopback only, unless `tls.verify`). */
  readonly host: string;
  /** TLS as dockerd's `--tls`/`--tlsverify` flags; off when absent. */
  readonly tls?: ServeTlsOptions;
  /** Registry client settings (credentials dir, TLS, proxies), from the CLI's environment. */
  readonly registry: RegistryClientOptions;
  /** PATH for the OCI runtime lookup. */
  readonly searchPath?: string;
  /** As BuildOptions.runtimeCacheDir. */
  readonly runtimeCacheDir?: string;
  /** One line per request, and the server's own notices. */
  readonly log: (line: string) => void;
  /** Largest request body (a build context, an archive to load). Default 4 GiB. */
  readonly maxBodyBytes?: number;
  /** Largest request head. Default 16 KiB. */
  readonly maxHeaderBytes?: number;
  /** The server version /version reports. */
  readonly version: string;
}

/** Per request: the parsed URL (API version prefix removed) and the shared state. */
export interface Request {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** The path without `/vX.Y`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The store, opened for this request (as a CLI command opens it: the same locks across processes). */
  openStore(): Promise<ImageStore>;
  readonly options: ServeOptions;
  /** Aborted when the client goes away (or the server is force-stopped). */
  readonly signal: AbortSignal;
  /** Adds a note to the request's log line (e.g. how much of a build context was hashed). */
  note(text: string): void;
}

export type Handler = (r: Request, params: readonly string[]) => Promise<void>;

export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.12';
