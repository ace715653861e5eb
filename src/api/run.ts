/**
 * `run`: one command in a throwaway container from a stored image (`wharf run`, and the server's
 * one-shot containers for `docker run --rm`). The container's writes are discarded; its output
 * comes back line by line.
 */
import { rm } from 'node:fs/promises';
import { UserError } from '../util/index.js';
import { loadImage } from '../image/index.js';
import { openSnapshots } from '../snapshot/index.js';
import { createOciExecutor, type NetworkMode } from '../runtime/index.js';
import { layersOf, runInContainer } from '../ops/index.js';
import type { Store } from '../store/index.js';
import { openApiStore } from './open-store.js';
import { runtimeStateDir } from './runtime-state.js';

export interface RunOptions {
  readonly root: string;
  readonly image: string;
  /** The command; the image's Cmd when empty (after its Entrypoint either way). */
  readonly cmd?: readonly string[];
  /** KEY=VALUE entries added to the image's Env. */
  readonly env?: readonly string[];
  readonly user?: string;
  readonly workdir?: string;
  /** Default `default`: outbound NAT through slirp4netns, as RUN steps (docker's bridge). */
  readonly network?: NetworkMode;
  readonly runtime?: 'auto' | 'wharf' | 'runc' | 'crun';
  /** Where runc/crun are looked up: a PATH value. */
  readonly searchPath?: string;
  /** As BuildOptions.runtimeCacheDir. */
  readonly runtimeCacheDir?: string;
  readonly store?: Store;
}

export interface RunHooks {
  readonly onStdout?: (line: string) => void;
  readonly onStderr?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** Runs the command to its end; resolves with its exit code (128+N when signal N ended it). */
export async function run(o: RunOptions, hooks: RunHooks = {}): Promise<{ exitCode: number }> {
  const store = o.store ?? (await openApiStore(o.root));
  const img = await loadImage(store, o.image);
  const c = img.config.config ?? {};
  const args = [...(c.Entrypoint ?? []), ...(o.cmd?.length ? o.cmd : (c.Cmd ?? []))];
  if (!args.length) throw new UserError('run.no-command', `image ${o.image} has no Entrypoint or Cmd`, `give a command, e.g. ${o.image} sh -c '...'`);
  const env = [...(c.Env ?? []), ...(o.env ?? [])];
  const stateDir = await runtimeStateDir(store);
  let executor: Awaited<ReturnType<typeof createOciExecutor>> | undefined;
  try {
    executor = await createOciExecutor({ stateDir, runtime: o.runtime ?? 'auto', ...(o.searchPath !== undefined ? { searchPath: o.searchPath } : {}),
      ...(o.runtimeCacheDir !== undefined ? { cacheDir: o.runtimeCacheDir } : {}) });
    const status = await runInContainer(
      { store, snapshots: openSnapshots(o.root, store), executor },
      layersOf(img),
      { args, env, user: o.user ?? c.User, cwd: o.workdir ?? (c.WorkingDir || '/'), network: o.network ?? 'default' },
      [],
      { stdout: hooks.onStdout ?? (() => {}), stderr: hooks.onStderr ?? (() => {}) },
      hooks.signal ?? new AbortController().signal,
    );
    return { exitCode: status.exitCode };
  } finally {
    // Its launch server is a process (a long-lived `wharf serve` would keep one per run).
    await executor?.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}
