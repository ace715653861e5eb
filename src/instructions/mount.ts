/**
 * `RUN --mount=type=...,k=v,...` parsing with BuildKit's defaults and checks. Each value may be
 * expanded first (BuildKit expands mount values with the stage's ARG/ENV scope).
 */
import { posix } from 'node:path';
import { ok, err, type Result } from '../util/index.js';
import type { Range } from '../diag/index.js';
import type { Mount, MountType, Sharing } from './types.js';

const TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING: readonly Sharing[] = ['shared', 'private', 'locked'];

export interface MountError {
  readonly message: string;
  readonly hint?: string;
}

/** Splits `a=1,"b=x,y",c` on commas outside double quotes (Go's csv reader, as BuildKit uses). */
export function splitCsv(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"') {
      if (quoted && value[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function parseBool(v: string): boolean | undefined {
  const l = v.toLowerCase();
  if (['1', 't', 'true'].includes(l)) return true;
  if (['0', 'f', 'false'].includes(l)) return false;
  return undefined;
}

/** docker/go-units RAMInBytes: `64m`, `1g`, `512kb`, binary multiples. */
export function parseRamBytes(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp])?(?:i?b)?$/i.exec(v.trim());
  if (!m) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[(m[2] ?? '').toLowerCase() as '' | 'k'];
  return Math.floor(Number(m[1]) * mult);
}

export function parseMount(value: string, range: Range, expand: (s: string) => Result<string, string>, sshIndex = 0): Result<Mount, MountError> {
  const fields = splitCsv(value);
  let type: MountType = 'bind';
  const typeField = fields.find((f) => f.toLowerCase().startsWith('type='));
  if (typeField !== undefined) {
    const t = typeField.slice(5).toLowerCase();
    if (!(TYPES as readonly string[]).includes(t)) return err({ message: `unsupported mount type "${t}"`, hint: `use one of ${TYPES.join(', ')}` });
    type = t as MountType;
  }
  const m: { -readonly [K in keyof Mount]?: Mount[K] } = { type, range };
  let readOnly: boolean | undefined;
  for (const field of fields) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') readOnly = true;
      else if (key === 'readwrite' || key === 'rw') readOnly = false;
      else if (key === 'required' && (type === 'secret' || type === 'ssh')) m.required = true;
      else return err({ message: `invalid field '${field}' must be a key=value pair` });
      continue;
    }
    if (key === 'type') continue;
    const expanded = expand(field.slice(eq + 1));
    if (!expanded.ok) return err({ message: expanded.error });
    const v = expanded.value;
    const onlyFor = (types: MountType[]): Result<true, MountError> =>
      types.includes(type) ? ok(true) : err({ message: `unexpected key '${key}' for mount type ${type}`, hint: `'${key}' applies to type=${types.join('|')}` });
    const num = (radix: 8 | 10): number | undefined => {
      const re = radix === 8 ? /^[0-7]+$/ : /^\d+$/;
      if (!re.test(v)) return undefined;
      const n = parseInt(v, radix);
      return n <= 0xffffffff ? n : undefined;
    };
    switch (key) {
      case 'id':
        m.id = v;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = v;
        break;
      case 'source':
      case 'src':
        m.source = v;
        break;
      case 'from': {
        const r = onlyFor(['bind', 'cache']);
        if (!r.ok) return r;
        m.from = v;
        break;
      }
      case 'readonly':
      case 'ro':
      case 'readwrite':
      case 'rw': {
        const b = parseBool(v);
        if (b === undefined) return err({ message: `invalid value for ${key}: ${v}`, hint: 'use true or false' });
        readOnly = key === 'readonly' || key === 'ro' ? b : !b;
        break;
      }
      case 'required': {
        const r = onlyFor(['secret', 'ssh']);
        if (!r.ok) return r;
        const b = parseBool(v);
        if (b === undefined) return err({ message: `invalid value for required: ${v}`, hint: 'use true or false' });
        m.required = b;
        break;
      }
      case 'sharing': {
        const r = onlyFor(['cache']);
        if (!r.ok) return r;
        if (!(SHARING as readonly string[]).includes(v)) return err({ message: `unsupported sharing value "${v}"`, hint: `use one of ${SHARING.join(', ')}` });
        m.sharing = v as Sharing;
        break;
      }
      case 'mode':
      case 'uid':
      case 'gid': {
        const r = onlyFor(['cache', 'secret', 'ssh']);
        if (!r.ok) return r;
        const n = num(key === 'mode' ? 8 : 10);
        if (n === undefined) return err({ message: `invalid value for ${key}: ${v}`, hint: key === 'mode' ? 'give an octal mode such as 0755' : 'give a numeric id' });
        m[key] = n;
        break;
      }
      case 'size': {
        const r = onlyFor(['tmpfs']);
        if (!r.ok) return r;
        const n = parseRamBytes(v);
        if (n === undefined) return err({ message: `invalid value for size: ${v}`, hint: 'give a size such as 64m' });
        m.size = n;
        break;
      }
      case 'env': {
        const r = onlyFor(['secret']);
        if (!r.ok) return r;
        m.env = v;
        break;
      }
      default:
        return err({
          message: `unexpected key '${key}' in '${field}'`,
          hint: 'mount keys: type, target, source, from, ro, rw, id, sharing, mode, uid, gid, size, required, env',
        });
    }
  }
  switch (type) {
    case 'bind':
    case 'cache':
    case 'tmpfs':
      // No target is the WORKDIR (mountTarget); BuildKit refuses only a target that comes out as `/`.
      if (type === 'cache') {
        m.sharing ??= 'shared';
        // BuildKit's default id is the target as written ('' without one).
        m.id ??= m.target ?? '';
        m.mode ??= 0o755;
      }
      m.readOnly = readOnly ?? type === 'bind';
      break;
    case 'secret':
      // BuildKit: `source` names the secret too, and wins over id.
      if (m.source) m.id = m.source;
      if (!m.id && !m.target && !m.env) return err({ message: 'secret mount requires an id or a target', hint: 'add id=<secret id>' });
      m.id ??= m.target ? m.target.replace(/\/+$/, '').split('/').pop() : m.env;
      if (!m.env) m.target ??= `/run/secrets/${m.id}`;
      m.readOnly = true;
      m.required ??= false;
      break;
    case 'ssh':
      m.id ??= 'default';
      m.target ??= `/run/buildkit/ssh_agent.${sshIndex}`;
      m.readOnly = true;
      m.required ??= false;
      break;
  }
  return ok(m as Mount);
}

/**
 * Where a mount goes in the container: an empty or relative target is joined to the WORKDIR, as
 * BuildKit's dispatch does. `/` is never a valid result (the caller refuses it, located).
 */
export function mountTarget(target: string | undefined, workdir: string): string {
  const t = target ?? '';
  return posix.normalize(t.startsWith('/') ? t : posix.join('/', workdir || '/', t)).replace(/(.)\/+$/, '$1');
}
