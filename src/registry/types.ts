/**
 * The registry module's seam: `RegistryHttp` is how pull and push talk to a registry. The
 * implementation behind it (client.ts) owns everything about reaching one: the endpoint for a
 * reference (docker.io → registry-1.docker.io; https, plain http only for loopback or
 * --insecure-registry hosts), TLS with certs.d, auth (anonymous, Basic, the Bearer token flow with a
 * token cache per scope, credentials from docker's config.json and credential helpers), retries
 * with backoff on 5xx and resets, and a timeout on every request. Pull and push only say what they
 * want, in Distribution API terms, and which access they need.
 */
import type { Reference } from '../store/index.js';

/** A repository on a registry: `domain` as in Reference (`docker.io`, `127.0.0.1:5000`), `path` `library/busybox`. */
export interface Repository {
  readonly domain: string;
  readonly path: string;
}

export type Access = 'pull' | 'push';

export interface RegistryRequest {
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** The path after `/v2/<repository>/`, e.g. `manifests/latest`, `blobs/sha256:…`, `blobs/uploads/`; or an absolute URL (upload Locations). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A body that can be sent again if a retry or a 401 challenge needs it. */
  readonly body?: Uint8Array | (() => AsyncIterable<Uint8Array>);
  /** `push` asks for `pull,push` scope; a cross-repository mount also names the source repository. */
  readonly access: Access;
  /** Extra repositories the token must cover (cross-repository mount: `from`). */
  readonly alsoPull?: readonly Repository[];
  readonly signal?: AbortSignal;
}

export interface RegistryHttp {
  /**
   * Sends the request to `repo`'s registry with auth, retries and a timeout. Resolves with the
   * final response, whatever its status (the caller maps 404 and the like to its own errors);
   * throws a UserError naming the host for what is not an HTTP answer (connection refused, DNS,
   * TLS) and for 401 after auth was tried ("authentication required for HOST: run `wharf login HOST`").
   */
  send(repo: Repository, req: RegistryRequest): Promise<Response>;
}

export const repositoryOf = (ref: Reference): Repository => ({ domain: ref.domain, path: ref.path });
