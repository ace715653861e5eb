/**
 * The plan native/wharf_container.c runs a step from: the step's OCI config (oci-config.ts, the
 * same one runc and crun get) turned into that program's directives. Mount options become MS_*
 * flags here, as runc parses them; what the config asks and the plan cannot say (a read-only
 * root, a namespace it does not make) throws, so no step ever runs with less than its config says.
 *
 *   containerPlan(config, { tasksFiles, seccompFile }) → the plan file's bytes
 */

import { UserError } from '../util/index.js';
import { ALL_CAPABILITIES } from './oci-config.js';

type Json = Record<string, unknown>;

export interface PlanExtras {
  /** v1 cgroup `tasks` files the launcher joins before it makes the namespaces (cgroups.ts). */
  readonly tasksFiles: readonly string[];
  /** The compiled seccomp filter (raw BPF) when the config has a profile. */
  readonly seccompFile?: string;
}

/** The config asks for something the plan cannot give: run the step with crun or runc instead. */
export class PlanUnsupported extends UserError {
  constructor(what: string) {
    super('runtime.plan-unsupported', `wharf's container launcher cannot give a step ${what}`, 'pass --runtime crun or --runtime runc');
  }
}

// Linux's mount flags (include/uapi/linux/mount.h).
const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, REMOUNT: 32, BIND: 4096, REC: 16384,
  PRIVATE: 1 << 18, SLAVE: 1 << 19, SHARED: 1 << 20, RELATIME: 1 << 21, STRICTATIME: 1 << 24,
} as const;

const FLAG_OPTIONS: Record<string, [set: number, clear: number]> = {
  ro: [MS.RDONLY, 0], rw: [0, MS.RDONLY], nosuid: [MS.NOSUID, 0], suid: [0, MS.NOSUID], nodev: [MS.NODEV, 0],
  dev: [0, MS.NODEV], noexec: [MS.NOEXEC, 0], exec: [0, MS.NOEXEC], relatime: [MS.RELATIME, 0],
  strictatime: [MS.STRICTATIME, 0], bind: [MS.BIND, 0], rbind: [MS.BIND | MS.REC, 0], remount: [MS.REMOUNT, 0],
};
const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
};
const MOUNT_TYPES = new Set(['proc', 'tmpfs', 'devpts', 'mqueue', 'sysfs', 'bind', 'cgroup']);
const NAMESPACES = new Set(['pid', 'ipc', 'uts', 'mount', 'cgroup', 'network']);

/** The plan file's bytes: NUL-terminated fields (wharf_container.c describes the directives). */
export function containerPlan(config: Json, extras: PlanExtras): Buffer {
  const fields: string[] = [];
  const add = (...f: (string | number)[]) => fields.push(...f.map(String));
  const process = config['process'] as Json;
  const root = config['root'] as { path: string; readonly?: boolean };
  const linux = config['linux'] as Json;
  if (root.readonly) throw new PlanUnsupported('a read-only root');
  if (process['terminal']) throw new PlanUnsupported('a terminal');
  for (const key of Object.keys(linux)) {
    if (!['namespaces', 'maskedPaths', 'readonlyPaths', 'seccomp'].includes(key)) throw new PlanUnsupported(`linux.${key}`);
  }

  for (const f of extras.tasksFiles) add('cgroup', f);
  const namespaces = linux['namespaces'] as { type: string; path?: string }[];
  const types = new Set(namespaces.map((n) => n.type));
  for (const t of NAMESPACES) if (t !== 'network' && !types.has(t)) throw new PlanUnsupported(`no ${t} namespace`);
  for (const ns of namespaces) {
    if (!NAMESPACES.has(ns.type)) throw new PlanUnsupported(`a ${ns.type} namespace`);
    if (ns.path !== undefined && ns.type !== 'network') throw new PlanUnsupported(`joining a ${ns.type} namespace`);
    if (ns.type === 'network') add(...(ns.path !== undefined ? ['netns', ns.path] : ['newnet']));
  }
  add('rootfs', root.path, 'hostname', String(config['hostname'] ?? ''));
  for (const m of config['mounts'] as { destination: string; type: string; source: string; options?: string[] }[]) {
    if (!MOUNT_TYPES.has(m.type)) throw new PlanUnsupported(`a ${m.type} mount`);
    let flags = m.type === 'bind' ? MS.BIND : 0;
    let propagation = 0;
    const data: string[] = [];
    for (const o of m.options ?? []) {
      const f = FLAG_OPTIONS[o];
      if (f) flags = (flags | f[0]) & ~f[1];
      else if (PROPAGATION[o] !== undefined) propagation = PROPAGATION[o]!;
      else data.push(o);
    }
    if (flags & MS.BIND && data.length) throw new PlanUnsupported(`bind mount options ${data.join(',')}`);
    add('mount', m.source, m.destination, m.type, flags, propagation, data.join(','));
  }
  if (process['rlimits']) {
    for (const r of process['rlimits'] as { type: string; soft: number | string; hard: number | string }[]) add('rlimit', r.type, limit(r.soft), limit(r.hard));
  }
  for (const p of (linux['maskedPaths'] as string[] | undefined) ?? []) add('mask', p);
  for (const p of (linux['readonlyPaths'] as string[] | undefined) ?? []) add('readonly', p);

  const user = process['user'] as { uid: number; gid: number; additionalGids?: number[] };
  add('user', user.uid, user.gid);
  for (const g of user.additionalGids ?? []) add('group', g);
  const caps = process['capabilities'] as Record<'bounding' | 'effective' | 'permitted' | 'inheritable', string[]> & { ambient?: string[] };
  if (caps.ambient?.length) throw new PlanUnsupported('ambient capabilities');
  add('caps', capMask(caps.bounding), capMask(caps.effective), capMask(caps.permitted), capMask(caps.inheritable));
  if (process['noNewPrivileges']) add('nonewprivs');
  if (linux['seccomp'] !== undefined) {
    if (extras.seccompFile === undefined) throw new PlanUnsupported('a seccomp profile without its compiled filter');
    add('seccomp', extras.seccompFile);
  }
  add('cwd', String(process['cwd']));
  const env = (process['env'] as string[] | undefined) ?? [];
  const args = process['args'] as string[];
  add('env', env.length, ...env, 'args', args.length, ...args);
  for (const f of fields) if (f.includes('\0')) throw new PlanUnsupported('a NUL in the config');
  return Buffer.from(fields.map((f) => f + '\0').join(''));
}

/** The config's rlimit value: RLIM_INFINITY is written out by ociConfigJson as 2^64-1. */
function limit(v: number | string): string {
  return typeof v === 'string' || v < 0 ? '-1' : String(v);
}

function capMask(names: readonly string[]): string {
  let mask = 0n;
  for (const n of names) {
    const bit = (ALL_CAPABILITIES as readonly string[]).indexOf(n);
    if (bit < 0) throw new PlanUnsupported(`capability ${n}`);
    mask |= 1n << BigInt(bit);
  }
  return mask.toString(16);
}
