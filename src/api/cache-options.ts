// --cache-to / --cache-from specs, in buildx's spelling (`type=local,dest=DIR,mode=max`).
import type { CacheExportMode } from '../cache/index.js';
import type { Compression } from '../layer/index.js';
import { UserError } from '../util/index.js';
import { parseSize } from './parse-size.js';

/** What cache-mounts=true exports at most unless cache-mounts-max= says otherwise. */
export const DEFAULT_CACHE_MOUNTS_MAX = 1 << 30;

/** cache-mounts=true: the RUN --mount=type=cache dirs go along, the largest dropped past `max` bytes. */
export interface CacheMountsExport {
  readonly max: number;
}

export type CacheToSpec =
  | ({ readonly type: 'local'; readonly dest: string } & ExportFields)
  | ({ readonly type: 'registry'; readonly ref: string } & ExportFields)
  /** The records of the image's own steps in its config (mode=min only). */
  | { readonly type: 'inline'; readonly spec: string };

/** What local and registry exports share. `compression`: layers re-compressed for the export (default: as stored). */
interface ExportFields {
  readonly mode: CacheExportMode;
  readonly mounts?: CacheMountsExport;
  readonly compression?: Compression;
  readonly spec: string;
}

export type CacheFromSpec =
  | { readonly type: 'local'; readonly src: string; readonly spec: string }
  | { readonly type: 'registry'; readonly ref: string; readonly spec: string };

const TO_EXAMPLE = '--cache-to type=local,dest=./cache,mode=max or --cache-to type=registry,ref=HOST/REPO:cache';
const FROM_EXAMPLE = '--cache-from type=local,src=./cache or --cache-from type=registry,ref=HOST/REPO:cache';

function fields(option: string, spec: string, example: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(option, spec, `"${part}" is not KEY=VALUE`, example);
    const k = part.slice(0, eq).trim();
    if (out.has(k)) throw bad(option, spec, `${k} is given twice`, example);
    out.set(k, part.slice(eq + 1));
  }
  return out;
}

function bad(option: string, spec: string, why: string, example: string): UserError {
  return new UserError('build.bad-cache-spec', `${option} ${spec}: ${why}`, `write it as ${example}`);
}

function unknownFields(option: string, spec: string, kv: Map<string, string>, allowed: readonly string[], example: string): void {
  for (const k of kv.keys()) if (!allowed.includes(k)) throw bad(option, spec, `unknown field ${k} (this type takes ${allowed.join(', ')})`, example);
}

function required(option: string, spec: string, kv: Map<string, string>, field: string, example: string): string {
  const v = kv.get(field);
  if (!v) throw bad(option, spec, `give ${field}=`, example);
  return v;
}

export function parseCacheTo(spec: string): CacheToSpec {
  const o = '--cache-to';
  const kv = fields(o, spec, TO_EXAMPLE);
  const mode = kv.get('mode') ?? 'min';
  if (mode !== 'min' && mode !== 'max') throw bad(o, spec, `mode=${mode}: use mode=min (the final image's steps) or mode=max (every step of every stage)`, TO_EXAMPLE);
  switch (kv.get('type')) {
    case 'local':
      unknownFields(o, spec, kv, ['type', 'dest', 'mode', 'cache-mounts', 'cache-mounts-max', 'compression'], TO_EXAMPLE);
      return { type: 'local', dest: required(o, spec, kv, 'dest', TO_EXAMPLE), mode, ...mountsOf(spec, kv), ...compressionOf(spec, kv), spec };
    case 'registry':
      unknownFields(o, spec, kv, ['type', 'ref', 'mode', 'cache-mounts', 'cache-mounts-max', 'compression'], TO_EXAMPLE);
      return { type: 'registry', ref: required(o, spec, kv, 'ref', TO_EXAMPLE), mode, ...mountsOf(spec, kv), ...compressionOf(spec, kv), spec };
    case 'inline':
      unknownFields(o, spec, kv, ['type', 'mode'], TO_EXAMPLE);
      if (mode !== 'min') throw bad(o, spec, 'type=inline holds the records of the image\'s own steps only (mode=min); use type=registry or type=local for mode=max', TO_EXAMPLE);
      return { type: 'inline', spec };
    case undefined:
      throw bad(o, spec, 'give type=local, type=registry or type=inline', TO_EXAMPLE);
    default:
      throw bad(o, spec, `type=${kv.get('type')}: this wharf exports to type=local, type=registry and type=inline`, TO_EXAMPLE);
  }
}

function compressionOf(spec: string, kv: Map<string, string>): { compression?: Compression } {
  const c = kv.get('compression');
  if (c === undefined) return {};
  if (c !== 'gzip' && c !== 'zstd' && c !== 'none') throw bad('--cache-to', spec, `compression=${c}: use gzip, zstd or none`, '--cache-to type=registry,ref=HOST/REPO:cache,compression=gzip');
  return { compression: c };
}

function mountsOf(spec: string, kv: Map<string, string>): { mounts?: CacheMountsExport } {
  const o = '--cache-to';
  const on = kv.get('cache-mounts');
  if (on !== undefined && on !== 'true' && on !== 'false') throw bad(o, spec, `cache-mounts=${on}: use cache-mounts=true or false`, `${o} type=local,dest=./cache,cache-mounts=true`);
  const maxText = kv.get('cache-mounts-max');
  const max = maxText === undefined ? DEFAULT_CACHE_MOUNTS_MAX : parseSize(maxText);
  if (max === undefined || max <= 0) throw bad(o, spec, `cache-mounts-max=${maxText}: give a size such as 512m or 2g`, `${o} type=local,dest=./cache,cache-mounts=true,cache-mounts-max=2g`);
  if (maxText !== undefined && on !== 'true') throw bad(o, spec, 'cache-mounts-max= needs cache-mounts=true', `${o} type=local,dest=./cache,cache-mounts=true,cache-mounts-max=2g`);
  return on === 'true' ? { mounts: { max } } : {};
}

/** A plain `--cache-from IMAGE` means `type=registry,ref=IMAGE`, as in buildx. */
export function parseCacheFrom(spec: string): CacheFromSpec {
  const o = '--cache-from';
  if (!spec.includes('=')) {
    if (!spec) throw bad(o, spec, 'empty', FROM_EXAMPLE);
    return { type: 'registry', ref: spec, spec };
  }
  const kv = fields(o, spec, FROM_EXAMPLE);
  switch (kv.get('type')) {
    case 'local':
      unknownFields(o, spec, kv, ['type', 'src'], FROM_EXAMPLE);
      return { type: 'local', src: required(o, spec, kv, 'src', FROM_EXAMPLE), spec };
    case 'registry':
      unknownFields(o, spec, kv, ['type', 'ref'], FROM_EXAMPLE);
      return { type: 'registry', ref: required(o, spec, kv, 'ref', FROM_EXAMPLE), spec };
    case undefined:
      throw bad(o, spec, 'give type=local or type=registry', FROM_EXAMPLE);
    default:
      throw bad(o, spec, `type=${kv.get('type')}: this wharf imports from type=local and type=registry`, FROM_EXAMPLE);
  }
}
