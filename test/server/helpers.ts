// A `wharf serve` child on a unix socket in a temp dir, stopped by PID; and raw requests to it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { wharfBin } from '../helpers/paths.js';
import { DOCKER } from '../helpers/dockerd.js';
import { before, after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { wharfBuildEnv, type WharfBuildEnv } from '../helpers/wharf-build.js';

export interface ServeChild {
  readonly socket: string;
  readonly child: ChildProcess;
  log(): string;
  docker(args: string[], input?: string | Buffer): { status: number; stdout: string; stderr: string };
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
}

export async function startServe(dir: string, root: string, extra: string[] = []): Promise<ServeChild> {
  const socket = join(dir, 'wharf.sock');
  const child = spawn(process.execPath, [wharfBin, '--root', root, 'serve', '--host', `unix://${socket}`, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 200 && !(existsSync(socket) && log.includes('serving')); i++) await new Promise((r) => setTimeout(r, 25));
  if (!existsSync(socket)) {
    child.kill('SIGKILL');
    throw new Error(`wharf serve did not start: ${log}`);
  }
  return {
    socket,
    child,
    log: () => log,
    docker(args, input) {
      const r = spawnSync(DOCKER, args, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(dir, 'docker-config') }, ...(input !== undefined ? { input } : {}), maxBuffer: 256 << 20 });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export function raw(socket: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: opts.headers ?? {}, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface ServedSuite {
  dir: string;
  env: WharfBuildEnv;
  server: ServeChild;
}

/** One `wharf serve` on a store with busybox:test for a test file: its before/after hooks start and remove it. */
export function servedBusyboxSuite(prefix: string): ServedSuite {
  const suite = {} as ServedSuite;
  before(async () => {
    suite.dir = await mkdtemp(join(tmpdir(), prefix));
    suite.env = wharfBuildEnv(suite.dir);
    suite.env.importBusybox();
    suite.server = await startServe(suite.dir, suite.env.root);
  });
  after(async () => {
    await suite.server?.stop();
    if (suite.dir) await rm(suite.dir, { recursive: true, force: true });
  });
  return suite;
}
