import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Ajv04Module from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import { conformanceDir } from './paths.js';

// Both packages are CommonJS with a default export.
type AjvCtor = typeof import('ajv-draft-04').default;
type AddFormats = typeof import('ajv-formats').default;
const unwrap = <T>(m: unknown): T => ((m as { default?: T }).default ?? m) as T;
const Ajv04 = unwrap<AjvCtor>(Ajv04Module);
const addFormats = unwrap<AddFormats>(addFormatsModule);

export const schemaDir = join(conformanceDir, 'oci', 'image-spec', 'schema');

const ENTRY: Record<string, string> = {
  'application/vnd.oci.image.manifest.v1+json': 'image-manifest-schema.json',
  'application/vnd.oci.image.index.v1+json': 'image-index-schema.json',
  'application/vnd.oci.image.config.v1+json': 'config-schema.json',
  'application/vnd.oci.descriptor.v1+json': 'content-descriptor.json',
  'application/vnd.oci.layout.header.v1+json': 'image-layout-schema.json',
};

function stripIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripIds);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'id' || typeof x !== 'string') out[k] = stripIds(x);
    return out;
  }
  return v;
}

/**
 * Validates documents like image-spec's schema package: the JSON Schemas (draft-04), their `id`s
 * replaced by one URL per file so `$ref`s resolve the way schema.go's aliases make them, plus the
 * checks upstream does beside the schema (Go type decoding, digest.Validate, Env's `k=v` form).
 */
export function createOciValidator(): (mediaType: string, doc: unknown) => string[] {
  const ajv = new Ajv04({ allErrors: true, strict: false });
  addFormats(ajv);
  const base = 'https://opencontainers.org/schema/';
  for (const f of readdirSync(schemaDir).filter((n) => n.endsWith('.json'))) {
    const schema = stripIds(JSON.parse(readFileSync(join(schemaDir, f), 'utf8'))) as object;
    ajv.addSchema(schema, base + f);
  }
  return (mediaType, doc) => {
    const entry = ENTRY[mediaType];
    if (!entry) return [`no schema for ${mediaType}`];
    const validate = ajv.getSchema(base + entry)!;
    const errors = validate(doc) ? [] : (validate.errors ?? []).map((e: { instancePath: string; message?: string }) => `${e.instancePath || '/'} ${e.message ?? ''}`);
    return [...errors, ...extraChecks(mediaType, doc)];
  };
}

const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const KNOWN_ALGS: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha384: /^[a-f0-9]{96}$/, sha512: /^[a-f0-9]{128}$/ };

/** go-digest's Validate: bad form fails; a known algorithm must have a well-formed hex part. */
function digestProblem(d: unknown): string | undefined {
  if (typeof d !== 'string') return undefined;
  if (!DIGEST_RE.test(d)) return `invalid digest ${d}`;
  const [alg, hex] = [d.slice(0, d.indexOf(':')), d.slice(d.indexOf(':') + 1)];
  const re = KNOWN_ALGS[alg];
  return re && !re.test(hex) ? `invalid ${alg} digest ${d}` : undefined;
}

function extraChecks(mediaType: string, doc: unknown): string[] {
  const out: string[] = [];
  const d = (doc ?? {}) as Record<string, unknown>;
  const descriptors: unknown[] = [];
  if (mediaType.endsWith('descriptor.v1+json')) descriptors.push(d);
  if (mediaType.endsWith('manifest.v1+json')) descriptors.push(d.config, ...(Array.isArray(d.layers) ? d.layers : []));
  if (mediaType.endsWith('index.v1+json')) descriptors.push(...(Array.isArray(d.manifests) ? d.manifests : []));
  for (const x of descriptors) {
    const desc = (x ?? {}) as { digest?: unknown; data?: unknown };
    const p = digestProblem(desc.digest);
    if (p) out.push(p);
    // Go decodes `data` into []byte with padded standard base64.
    if (typeof desc.data === 'string' && !BASE64_RE.test(desc.data)) out.push('data is not padded standard base64');
  }
  if (mediaType.endsWith('config.v1+json')) {
    const env = (d.config as { Env?: unknown } | undefined)?.Env;
    if (Array.isArray(env)) for (const e of env) if (typeof e === 'string' && !/^[^=]+=.*$/.test(e)) out.push(`invalid Env entry ${JSON.stringify(e)}`);
  }
  return out;
}
