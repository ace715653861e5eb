import { after, before } from 'node:test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * A "remote host" for network tests that sends no traffic off this machine: a network namespace
 * of the test's own, joined to the host by a veth pair with a /30 of 10.250.x.0 (x chosen free),
 * where busybox httpd serves `files`. The host reaches it through the veth, as it would a machine
 * on the internet through its default route.
 */
export interface RemoteHost {
  /** The server's address (in the namespace) and port. */
  readonly ip: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const ip = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

export async function startRemoteHost(files: Record<string, string>): Promise<RemoteHost> {
  const id = randomBytes(3).toString('hex');
  const ns = `wharf-t-${id}`;
  const hostIf = `wt${id}a`;
  const peerIf = `wt${id}b`;
  const used = ip('-4', '-o', 'addr', 'show');
  const x = [...Array(254).keys()].map((i) => i + 1).sort(() => Math.random() - 0.5).find((n) => !used.includes(`10.250.${n}.`));
  if (x === undefined) throw new Error('no free 10.250.x.0/30 on this host');
  const hostIp = `10.250.${x}.1`;
  const remoteIp = `10.250.${x}.2`;
  const docroot = mkdtempSync(join(tmpdir(), 'wharf-remote-'));
  let server: ChildProcess | undefined;
  const cleanup = () => {
    if (server?.pid !== undefined && server.exitCode === null) server.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', hostIf]);
    rmSync(docroot, { recursive: true, force: true });
  };
  try {
    for (const [p, data] of Object.entries(files)) {
      mkdirSync(join(docroot, p, '..'), { recursive: true });
      writeFileSync(join(docroot, p), data);
    }
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf);
    ip('link', 'set', peerIf, 'netns', ns);
    ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('-n', ns, 'addr', 'add', `${remoteIp}/30`, 'dev', peerIf);
    ip('-n', ns, 'link', 'set', peerIf, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    const port = 8080;
    server = spawn('ip', ['netns', 'exec', ns, 'busybox', 'httpd', '-f', '-p', `${remoteIp}:${port}`, '-h', docroot], { stdio: 'ignore' });
    await waitListening(remoteIp, port);
    const exited = new Promise<void>((r) => server!.once('exit', () => r()));
    return {
      ip: remoteIp,
      port,
      url: `http://${remoteIp}:${port}`,
      close: async () => {
        if (server?.exitCode === null) {
          server.kill('SIGTERM');
          await exited;
        }
        cleanup();
      },
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

async function waitListening(host: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port }, () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the test server on ${host}:${port} did not start`);
}

/** A remote host for a whole test file: started before its tests, closed after them. */
export function remoteHostForFile(files: Record<string, string>): Omit<RemoteHost, 'close'> {
  let host: RemoteHost | undefined;
  before(async () => {
    host = await startRemoteHost(files);
  });
  after(async () => {
    await host?.close();
  });
  const started = (): RemoteHost => {
    if (!host) throw new Error('the remote host is started by the before hook of the test file');
    return host;
  };
  return {
    get ip() {
      return started().ip;
    },
    get port() {
      return started().port;
    },
    get url() {
      return started().url;
    },
  };
}
