import { type Result, ok, err } from '../util/index.js';
import { parseSha256, type Sha256 } from '../hash/index.js';

/**
 * A docker-style image reference, normalised the way `docker` does it:
 * `app` → docker.io/library/app:latest, `ns/app:1` → docker.io/ns/app:1,
 * `registry:5000/ns/app:1@sha256:…` keeps its registry.
 */
export interface Reference {
  /** Registry host (with port), `docker.io` when none is given. */
  readonly domain: string;
  /** Repository path inside the registry, `library/app` for docker.io official images. */
  readonly path: string;
  /** The tag; `latest` when neither tag nor digest was given. */
  readonly tag?: string;
  readonly digest?: Sha256;
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const ANCHORED_ID_RE = /^[a-f0-9]{64}$/;
const NAME_MAX = 255;
const DEFAULT_DOMAIN = 'docker.io';
const OFFICIAL_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';

export type ReferenceError = { readonly code: 'reference.invalid'; readonly message: string };

const bad = (input: string, why: string): Result<never, ReferenceError> =>
  err({ code: 'reference.invalid', message: `invalid reference "${input}": ${why}` });

/**
 * Parses `[domain/]path[:tag][@digest]`. A reference with neither tag nor digest gets `latest`
 * (pass `defaultTag: false` to keep it bare, e.g. for a digest lookup).
 */
export function parseReference(input: string, opts: { defaultTag?: boolean } = {}): Result<Reference, ReferenceError> {
  if (input === '') return bad(input, 'empty name');
  if (/\s/.test(input)) return bad(input, 'contains whitespace');
  let rest = input;
  let digest: Sha256 | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    const parsed = parseSha256(d);
    if (!parsed) {
      return bad(input, /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(d) ? `unsupported digest "${d}" (only sha256:<64 hex> is supported)` : `malformed digest "${d}"`);
    }
    digest = parsed;
    rest = rest.slice(0, at);
  }
  // A colon after the last slash separates the tag; one before it belongs to a registry port.
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) return bad(input, `invalid tag "${tag}" (letters, digits, '_', '.', '-'; at most 128, not starting with '.' or '-')`);
  }
  if (rest === '') return bad(input, 'empty name');
  if (rest.length > NAME_MAX) return bad(input, `name longer than ${NAME_MAX} characters`);

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!DOMAIN_RE.test(domain)) return bad(input, `invalid registry host "${domain}"`);
    }
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (path !== path.toLowerCase()) return bad(input, 'repository name must be lowercase');
  for (const c of path.split('/')) {
    if (!PATH_COMPONENT_RE.test(c)) return bad(input, `invalid repository name component "${c}" (lowercase letters and digits, separated by '.', '_', '__' or '-')`);
  }
  if (domain === DEFAULT_DOMAIN && ANCHORED_ID_RE.test(path)) {
    return bad(input, 'a repository name cannot be a 64-character hexadecimal string (that looks like an image ID)');
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  if (tag === undefined && digest === undefined && opts.defaultTag !== false) tag = DEFAULT_TAG;
  return ok({ domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) });
}

/** `docker.io/library/app` — the repository without tag or digest. */
export const repositoryName = (r: Reference): string => `${r.domain}/${r.path}`;

/** The full normalised form, `docker.io/library/app:1` (and `@sha256:…` when pinned). */
export function fullName(r: Reference): string {
  return repositoryName(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest ? `@${r.digest}` : '');
}

/** The short form users type and docker prints: `app`, `ns/app`, `registry:5000/ns/app`. */
export function familiarRepository(r: Reference): string {
  if (r.domain !== DEFAULT_DOMAIN) return repositoryName(r);
  const p = r.path;
  return p.startsWith(OFFICIAL_PREFIX) && !p.slice(OFFICIAL_PREFIX.length).includes('/') ? p.slice(OFFICIAL_PREFIX.length) : p;
}

/** `app:1` — the familiar form with its tag/digest; also the index.json ref.name of a tag. */
export function familiarName(r: Reference): string {
  return familiarRepository(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest ? `@${r.digest}` : '');
}
