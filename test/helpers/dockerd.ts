import { after, before } from 'node:test';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs, requireRoot } from './busybox.js';

/** The docker 20.10 client from Debian's docker.io (the other `docker` on the PATH lacks buildx). */
export const DOCKER = '/usr/bin/docker';

/**
 * A private dockerd: its own data root, exec root and socket, no bridge and no iptables changes,
 * so it touches nothing of the host's networking. Stopped by PID and its dirs removed by stop().
 */
export interface PrivateDockerd {
  readonly socket: string;
  docker(args: string[], env?: NodeJS.ProcessEnv): { status: number; stdout: string; stderr: string };
  stop(): Promise<void>;
}

export async function startDockerd(): Promise<PrivateDockerd> {
  if (!existsSync('/usr/sbin/dockerd')) throw new Error('dockerd is not installed (apt-get install docker.io; npm run test:peers installs it)');
  const dir = await mkdtemp(join(tmpdir(), 'wharf-dockerd-'));
  const socket = join(dir, 'docker.sock');
  const child: ChildProcess = spawn('/usr/sbin/dockerd', [
    '--iptables=false', '--ip-masq=false', '--ip6tables=false', '--bridge=none', '--storage-driver=overlay2',
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'pid'), '--host', `unix://${socket}`,
  ], {
    stdio: 'ignore',
    // containerd writes a goroutine dump (containerd.<pid>.stacks.log) to $TMPDIR when dockerd
    // stops it the hard way; in our own dir it is removed with everything else.
    env: { ...process.env, TMPDIR: dir },
  });
  const docker = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(DOCKER, ['-H', `unix://${socket}`, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const deadline = Date.now() + 30_000;
  while (docker(['version']).status !== 0) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error('dockerd did not come up within 30 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    socket,
    docker,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      spawnSync('umount', ['-R', join(dir, 'data')], { stdio: 'ignore' });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The set-up of a docker peer test file: a temp dir with a busybox rootfs and its tar
 * (`<dir>/rootfs.tar`) and a private dockerd, made before the tests and removed after them.
 * Read `dir` and `dockerd` inside tests, once `before` has run.
 */
export function dockerPeerSuite(prefix: string): { readonly dir: string; readonly dockerd: PrivateDockerd } {
  const s: { dir: string; dockerd: PrivateDockerd | undefined } = { dir: '', dockerd: undefined };
  before(async () => {
    requireRoot();
    s.dir = await mkdtemp(join(tmpdir(), prefix));
    makeBusyboxRootfs(join(s.dir, 'rootfs'));
    execFileSync('tar', ['-C', join(s.dir, 'rootfs'), '-cf', join(s.dir, 'rootfs.tar'), '.']);
    s.dockerd = await startDockerd();
  });
  after(async () => {
    await s.dockerd?.stop();
    if (s.dir) await rm(s.dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return s.dir;
    },
    get dockerd() {
      return s.dockerd!;
    },
  };
}
