/**
 * One adapter per builder. The harness only knows this interface: wharf is one more adapter that
 * runs the project's CLI (`node bin/wharf.js --root R build -t T -f F CTX`), so it is measured
 * exactly as a user would run it, Node start-up included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { must, run, unmountUnder, type CommandResult } from './procs.js';
import type { ScenarioDirs } from './scenarios.js';
import { DOCKER } from '../../test/helpers/dockerd.js';

export interface Builder {
  readonly name: string;
  /** null when it can run here, else why not (shown in the table instead of figures). */
  unavailable(): Promise<string | null>;
  /** Makes the base image (a docker-archive written by `wharf save`) known to this builder. */
  loadBase(baseArchive: string, baseRootfsTar: string): Promise<void>;
  build(s: ScenarioDirs, tag: string): Promise<CommandResult>;
  /** Empties this builder's build cache and removes what it built; the base image stays. */
  resetCache(tags: readonly string[]): Promise<void>;
}

export const BASE = 'wharf-bench/base:1';


export function dockerBuilder(name: string, socket: () => string | null, buildkit: boolean): Builder {
  const docker = (args: string[], env: NodeJS.ProcessEnv = {}) => must(DOCKER, ['-H', `unix://${socket()}`, ...args], env);
  return {
    name,
    async unavailable() {
      if (!existsSync(DOCKER)) return 'docker.io not installed';
      return socket() ? null : 'dockerd not started';
    },
    async loadBase(archive) {
      // The same image ID as wharf's base: docker reads wharf's docker-archive as it is.
      const images = await run(DOCKER, ['-H', `unix://${socket()}`, 'image', 'inspect', BASE]);
      if (images.status !== 0) await docker(['load', '-i', archive]);
    },
    build(s, tag) {
      // --network none: the private dockerd has no bridge, and no builder here gets a network.
      return run(DOCKER, ['-H', `unix://${socket()}`, 'build', '-q', '--network', 'none', '-t', tag, '-f', s.dockerfile, s.context], { DOCKER_BUILDKIT: buildkit ? '1' : '0' });
    },
    async resetCache(tags) {
      await run(DOCKER, ['-H', `unix://${socket()}`, 'image', 'rm', '-f', ...tags]);
      // The classic builder's cache is its intermediate images: removing the tag removes the
      // chain, and a prune takes the dangling last images of earlier stages. BuildKit keeps its
      // own cache, which only `builder prune` empties.
      if (buildkit) await docker(['builder', 'prune', '-af']);
      else await docker(['image', 'prune', '-f']);
    },
  };
}

export function buildahBuilder(root: string): Builder {
  const storage = ['--root', join(root, 'storage'), '--runroot', join(root, 'run'), '--storage-driver', 'overlay'];
  const buildah = (args: string[]) => must('buildah', [...storage, ...args]);
  let baseId = '';
  return {
    name: 'buildah',
    async unavailable() {
      return (await run('buildah', ['--version'])).status === 0 ? null : 'buildah not installed';
    },
    async loadBase(archive, rootfsTar) {
      const copied = await run('skopeo', ['copy', '-q', `docker-archive:${archive}`, `containers-storage:[overlay@${join(root, 'storage')}+${join(root, 'run')}]${BASE}`]);
      if (copied.status !== 0) {
        // Without skopeo: the same rootfs as one layer (another image ID, the same files).
        const ctr = (await buildah(['from', 'scratch'])).stdout.trim();
        await buildah(['add', ctr, rootfsTar, '/']);
        await buildah(['commit', '-q', ctr, BASE]);
        await buildah(['rm', ctr]);
      }
      baseId = (await buildah(['images', '--noheading', '--no-trunc', '--format', '{{.ID}}', BASE])).stdout.trim();
    },
    build(s, tag) {
      return run('buildah', [...storage, 'bud', '--layers', '--isolation', 'chroot', '-q', '-t', tag, '-f', s.dockerfile, s.context]);
    },
    async resetCache() {
      // With --layers every step is an untagged image; all of them but the base go.
      await run('buildah', [...storage, 'rm', '--all']);
      const ids = (await buildah(['images', '-a', '--noheading', '--no-trunc', '--format', '{{.ID}}'])).stdout.split('\n').map((l) => l.trim());
      const others = [...new Set(ids.filter((id) => id && !baseId.endsWith(id) && !id.endsWith(baseId)))];
      if (others.length) await buildah(['rmi', '-f', ...others]);
    },
  };
}

/**
 * What wharf's Node process is started without: NODE_EXTRA_CA_CERTS makes Node parse that CA
 * bundle at every start, before any of wharf runs (~35 ms of `node -e 0` on this project's
 * machine, which sets it to the system bundle). A machine without it is the usual case, and no
 * peer here is a Node program; `--keep-env` in run.ts measures with it.
 */
export const WHARF_ENV_UNSET: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: undefined };

/**
 * wharf through its CLI. A cold run gets a fresh store root with the base imported again (untimed),
 * which also empties the context stat cache: nothing of an earlier build survives.
 */
export function wharfBuilder(wharfBin: string, root: string, env: NodeJS.ProcessEnv = WHARF_ENV_UNSET): Builder {
  const wharf = (args: string[]) => run(process.execPath, [wharfBin, '--root', root, ...args], env);
  let base = '';
  return {
    name: 'wharf',
    async unavailable() {
      const help = await run(process.execPath, [wharfBin, '--help']);
      return help.status === 0 && /^\s+build\b/m.test(help.stdout) ? null : 'this wharf has no build command yet';
    },
    async loadBase(archive) {
      base = archive;
      const loaded = await wharf(['load', '-i', archive]);
      if (loaded.status !== 0) throw new Error(`wharf load: ${loaded.stderr}`);
    },
    build(s, tag) {
      // --network none, as every peer here is given (wharf's default is a slirp4netns network per RUN).
      return wharf(['build', '--progress', 'quiet', '--network', 'none', '-t', tag, '-f', s.dockerfile, s.context]);
    },
    async resetCache() {
      unmountUnder(root);
      await rm(root, { recursive: true, force: true });
      const loaded = await wharf(['load', '-i', base]);
      if (loaded.status !== 0) throw new Error(`wharf load: ${loaded.stderr}`);
    },
  };
}

/**
 * The docker CLI (classic protocol, DOCKER_BUILDKIT=0) talking to `wharf serve`: a warm wharf
 * without Node's start-up per build. The server runs for the whole bench (stopped by `stop`);
 * a cold run restarts it on a fresh store root with the base loaded again (untimed).
 */
export function wharfServeBuilder(wharfBin: string, root: string): Builder & { stop(): Promise<void> } {
  const socket = join(root, '..', 'wharf-serve.sock');
  let child: ChildProcess | undefined;
  let base = '';
  const start = async () => {
    child = spawn(process.execPath, [wharfBin, '--root', root, 'serve', '--host', `unix://${socket}`], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 25));
    if (!existsSync(socket)) throw new Error('wharf serve did not start');
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  };
  const docker = (args: string[]) => run(DOCKER, ['-H', `unix://${socket}`, ...args], { DOCKER_BUILDKIT: '0' });
  return {
    name: 'wharf-serve',
    async unavailable() {
      if (!existsSync(DOCKER)) return 'docker.io not installed';
      const help = await run(process.execPath, [wharfBin, '--help']);
      return help.status === 0 && /^\s+serve\b/m.test(help.stdout) ? null : 'this wharf has no serve command';
    },
    async loadBase(archive) {
      base = archive;
      if (!child) await start();
      const loaded = await docker(['load', '-i', archive]);
      if (loaded.status !== 0) throw new Error(`docker load through wharf serve: ${loaded.stderr}`);
    },
    build(s, tag) {
      return docker(['build', '-q', '--network', 'none', '-t', tag, '-f', s.dockerfile, s.context]);
    },
    async resetCache() {
      await stop();
      unmountUnder(root);
      await rm(root, { recursive: true, force: true });
      await this.loadBase(base, '');
    },
    stop,
  };
}
