import { copyFile, chmod, chown, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex, sha256Of } from '../hash/index.js';
import type { Mount } from '../instructions/index.js';
import { resolveInRoot, type MountSpec } from '../runtime/index.js';
import { mountOverlay, type OverlayMount } from '../snapshot/index.js';
import { acquireLock, type Lock } from '../store/index.js';
import { UserError } from '../util/user-error.js';

/**
 * `RUN --mount` made concrete for one step: cache dirs that persist across builds, read-only (or
 * write-discarding) binds of the context or another stage, tmpfs, and secrets that reach the step
 * as a file or an env var but never a layer or a cache key.
 */

/** A `--secret id=...` given to the build: a file to read, or the value itself (from `env=`). */
export type SecretSource = { readonly id: string; readonly file: string } | { readonly id: string; readonly value: Uint8Array };

export interface MountSources {
  /** The store root: cache mounts live in `<root>/cache-mounts/`. */
  readonly root: string;
  /** A private dir for this step (secret files, rw copies, overlay scratch); the caller removes it. */
  readonly scratch: string;
  /** The build context, for binds without `from`. */
  readonly contextDir?: string;
  readonly secrets: ReadonlyMap<string, SecretSource>;
  /** A read-only directory holding the filesystem of a stage or image named by `from=`. */
  readonly rootOf?: (from: string) => Promise<string>;
}

export interface PreparedMounts {
  readonly specs: MountSpec[];
  /** `NAME=value` entries for secrets with `env=` (added to the process env, never to keys). */
  readonly env: string[];
  /** Unmounts and unlocks what preparing took; idempotent. */
  release(): Promise<void>;
}

/** Parses `--secret id=x,src=path`, `id=x,env=VAR` (docker's forms); `readEnv` resolves env=. */
export function parseSecretFlag(flag: string, readEnv: (name: string) => string | undefined): SecretSource {
  const kv = new Map<string, string>();
  for (const part of flag.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new UserError('cli.bad-secret', `--secret ${flag}: "${part}" is not key=value`, 'use --secret id=NAME,src=FILE or --secret id=NAME,env=VAR');
    kv.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1));
  }
  const src = kv.get('src') ?? kv.get('source');
  const env = kv.get('env');
  const id = kv.get('id') ?? (src ? src.split('/').pop() : env);
  if (!id) throw new UserError('cli.bad-secret', `--secret ${flag} has no id`, 'add id=NAME');
  if (src !== undefined && kv.get('type') !== 'env') return { id, file: src };
  const name = env ?? src ?? id;
  const value = readEnv(name);
  if (value === undefined) throw new UserError('cli.bad-secret', `--secret ${flag}: environment variable ${name} is not set`, `export ${name}=... before the build`);
  return { id, value: Buffer.from(value) };
}

export async function prepareRunMounts(mounts: readonly Mount[], src: MountSources): Promise<PreparedMounts> {
  const specs: MountSpec[] = [];
  const env: string[] = [];
  const locks: Lock[] = [];
  const overlays: OverlayMount[] = [];
  let released: Promise<void> | undefined;
  const release = () =>
    (released ??= (async () => {
      for (const o of overlays.reverse()) await o.unmount();
      for (const l of locks) await l.release();
    })());
  try {
    for (const [i, m] of mounts.entries()) {
      switch (m.type) {
        case 'tmpfs':
          specs.push({ type: 'tmpfs', destination: m.target!, sizeBytes: m.size });
          break;
        case 'cache':
          specs.push(await cacheMount(m, src, locks, i));
          break;
        case 'bind':
          specs.push(await bindMount(m, src, overlays, i));
          break;
        case 'secret': {
          const s = src.secrets.get(m.id!);
          if (!s) {
            if (m.required) throw new UserError('run.secret-missing', `secret ${m.id} is required by RUN --mount but was not given`, `pass it: wharf build --secret id=${m.id},src=FILE ...`);
            break;
          }
          const value = 'value' in s ? s.value : await readFile(s.file).catch(() => {
            throw new UserError('run.secret-unreadable', `cannot read secret ${m.id} from ${s.file}`, 'check the src= path of --secret');
          });
          if (m.env) env.push(`${m.env}=${Buffer.from(value).toString()}`);
          if (m.target) {
            const file = join(src.scratch, `secret-${i}`);
            await writeFile(file, value, { mode: 0o600 });
            await chown(file, m.uid ?? 0, m.gid ?? 0);
            await chmod(file, m.mode ?? 0o400);
            specs.push({ type: 'bind', source: file, destination: m.target, readonly: true });
          }
          break;
        }
        case 'ssh':
          throw new UserError('run.mount-unsupported', 'RUN --mount=type=ssh is not supported by wharf yet', 'copy what the step needs with a secret mount instead (--mount=type=secret)');
      }
    }
    return { specs, env, release };
  } catch (e) {
    await release();
    throw e;
  }
}

/** `<root>/cache-mounts/<sha256 of id>`, created with the mount's mode and owner the first time. */
async function cacheMount(m: Mount, src: MountSources, locks: Lock[], i: number): Promise<MountSpec> {
  if (m.from !== undefined || m.source !== undefined) {
    throw new UserError('run.mount-unsupported', 'RUN --mount=type=cache with from= or source= is not supported by wharf yet', 'drop from=/source=; the cache starts empty and persists across builds');
  }
  const base = join(src.root, 'cache-mounts');
  const dir = join(base, sha256Hex(sha256Of(m.id!)));
  if (!(await stat(dir).catch(() => undefined))) {
    const tmp = join(src.scratch, `cache-${i}`);
    await mkdir(tmp, { recursive: true });
    await chown(tmp, m.uid ?? 0, m.gid ?? 0);
    await chmod(tmp, m.mode ?? 0o755);
    await mkdir(base, { recursive: true });
    // Two builds creating the same cache race harmlessly: the loser's rename fails, its dir is scratch.
    await rename(tmp, dir).catch(() => undefined);
  }
  if (m.sharing === 'locked') {
    locks.push(await acquireLock(`${dir}.lock`, join(src.scratch, 'locks'), { timeoutMs: 24 * 3600_000 }));
  } else if (m.sharing === 'private') {
    try {
      locks.push(await acquireLock(`${dir}.lock`, join(src.scratch, 'locks'), { timeoutMs: 0 }));
    } catch {
      // In use by another step: this one gets a fresh cache of its own, thrown away afterwards.
      const own = join(src.scratch, `cache-private-${i}`);
      await mkdir(own, { mode: m.mode ?? 0o755 });
      await chown(own, m.uid ?? 0, m.gid ?? 0);
      return { type: 'bind', source: own, destination: m.target!, readonly: m.readOnly };
    }
  }
  return { type: 'bind', source: dir, destination: m.target!, readonly: m.readOnly };
}

/** A bind of the context (or `from=`) that never leaves it; `rw` writes land in scratch and vanish. */
async function bindMount(m: Mount, src: MountSources, overlays: OverlayMount[], i: number): Promise<MountSpec> {
  let root: string;
  if (m.from !== undefined) {
    if (!src.rootOf) throw new UserError('run.mount-unsupported', `RUN --mount=from=${m.from} is not available here`);
    root = await src.rootOf(m.from);
  } else {
    if (!src.contextDir) throw new UserError('run.mount-no-context', 'RUN --mount=type=bind needs a build context', 'build from a context directory');
    root = src.contextDir;
  }
  const source = await resolveInRoot(root, m.source ?? '.');
  const st = await stat(source).catch(() => undefined);
  if (!st) throw new UserError('run.mount-source', `RUN --mount source ${m.source ?? '.'} does not exist in ${m.from ? `"${m.from}"` : 'the build context'}`, 'check the source= path (it is relative to the context or the from= stage)');
  if (m.readOnly) return { type: 'bind', source, destination: m.target!, readonly: true };
  if (st.isDirectory()) {
    const o = await mountOverlay({ lowers: [source], upper: join(src.scratch, `bind-${i}`, 'upper'), target: join(src.scratch, `bind-${i}`, 'merged') });
    overlays.push(o);
    return { type: 'bind', source: o.target, destination: m.target!, readonly: false };
  }
  const copy = join(src.scratch, `bind-${i}`);
  await copyFile(source, copy);
  return { type: 'bind', source: copy, destination: m.target!, readonly: false };
}
