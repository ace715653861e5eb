import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile, readdirQuiet, UserError } from '../util/index.js';
import type { ContainerRecord, ContainerState, LiveStatus } from './types.js';

/** Container records under `<root>/containers/`: read, written atomically, found by name or ID prefix. */

export const containersDir = (root: string): string => join(root, 'containers');
export const containerDir = (root: string, id: string): string => join(containersDir(root), id);

export interface ContainerPaths {
  readonly dir: string;
  readonly upper: string;
  readonly rootfs: string;
  readonly bundle: string;
  readonly runtimeRoot: string;
  readonly log: string;
}

export function pathsOf(root: string, id: string): ContainerPaths {
  const dir = containerDir(root, id);
  return { dir, upper: join(dir, 'upper'), rootfs: join(dir, 'rootfs'), bundle: join(dir, 'bundle'), runtimeRoot: join(dir, 'runc'), log: join(dir, 'log') };
}

/** The runtime's name for the container: short enough for cgroup and state paths. */
export const runtimeId = (id: string): string => `wharf-c-${id.slice(0, 16)}`;

export function readRecord(root: string, id: string): ContainerRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(join(containerDir(root, id), 'container.json'), 'utf8')) as ContainerRecord;
    return r.v === 1 && r.id === id ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Temp file, fsync, rename: a crash leaves the old record or the new one, never a torn one. The
 * container's dir must exist (`create` makes it first): a watcher finishing after `rm -f` removed
 * the container must not bring it back, so then this fails with ENOENT.
 */
export async function writeRecord(root: string, rec: ContainerRecord, create = false): Promise<void> {
  const dir = containerDir(root, rec.id);
  if (create) await mkdir(dir, { recursive: true, mode: 0o700 });
  else if (!existsSync(dir)) throw Object.assign(new Error(`container ${rec.id} is gone`), { code: 'ENOENT' });
  await atomicWriteFile(join(dir, 'container.json'), JSON.stringify(rec, null, 1) + '\n', 0o600);
}

export async function updateState(root: string, rec: ContainerRecord, state: ContainerState): Promise<ContainerRecord> {
  const next = { ...rec, state };
  await writeRecord(root, next);
  return next;
}

/** Every container with a readable record, oldest first. */
export function listRecords(root: string): ContainerRecord[] {
  const out: ContainerRecord[] = [];
  for (const id of readdirQuiet(containersDir(root))) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue;
    const r = readRecord(root, id);
    if (r) out.push(r);
  }
  return out.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
}

/** Container dirs whose record is missing or unreadable (a create killed before it wrote one). */
export function orphanDirs(root: string): string[] {
  return readdirQuiet(containersDir(root)).filter((id) => /^[0-9a-f]{64}$/.test(id) && !readRecord(root, id));
}

/** A container by exact name, exact ID or unique ID prefix (at least 3 digits). */
export function findRecord(root: string, nameOrId: string): ContainerRecord {
  const all = listRecords(root);
  const hit = all.find((r) => r.name === nameOrId) ?? all.find((r) => r.id === nameOrId);
  if (hit) return hit;
  const prefix = /^[0-9a-f]{3,63}$/.test(nameOrId) ? all.filter((r) => r.id.startsWith(nameOrId)) : [];
  if (prefix.length === 1) return prefix[0]!;
  if (prefix.length > 1) throw new UserError('container.ambiguous', `container ID prefix ${nameOrId} matches ${prefix.length} containers`, 'give more digits of the ID, or the name (`wharf ps -a` lists them)');
  throw new UserError('container.not-found', `no such container: ${nameOrId}`, '`wharf ps -a` lists the containers (by name and ID)');
}

export function newId(): string {
  return randomBytes(32).toString('hex');
}

const ADJECTIVES = ['brave', 'calm', 'eager', 'fond', 'keen', 'lucid', 'merry', 'nimble', 'quiet', 'sharp', 'sturdy', 'tidy', 'vivid', 'witty', 'zen'];
const NOUNS = ['anchor', 'barge', 'buoy', 'crane', 'dock', 'ferry', 'harbor', 'hull', 'keel', 'mast', 'pier', 'quay', 'rudder', 'tug', 'wharf'];

/** A docker-style `adjective_noun` name no container has yet. */
export function newName(taken: ReadonlySet<string>): string {
  for (let i = 0; ; i++) {
    const b = randomBytes(2);
    const name = `${ADJECTIVES[b[0]! % ADJECTIVES.length]}_${NOUNS[b[1]! % NOUNS.length]}${i > 20 ? `_${i}` : ''}`;
    if (!taken.has(name)) return name;
  }
}

export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * The start time of a process (field 22 of /proc/<pid>/stat), undefined when there is no such
 * process or it is a zombie: a killed detached watcher stays one until its reaper (init, which
 * in a container may never reap) collects it.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** The record's state against the processes alive now: a `running` record whose watcher is gone is `stopped`. */
export function liveStatus(rec: ContainerRecord): LiveStatus {
  const s = rec.state;
  if (s.status !== 'running') return s.status;
  if (s.monitorPid !== undefined && processStartTime(s.monitorPid) === s.monitorStart) return 'running';
  return 'stopped';
}
