import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 for tests: a generated config with its
 * own storage dir, optional TLS, htpasswd or token auth; started on a free port, stopped by PID.
 */
export interface RegistryConfig {
  /** `clientcas`: require client certificates signed by these CAs. */
  readonly tls?: { readonly certificate: string; readonly key: string; readonly clientcas?: readonly string[] };
  readonly htpasswd?: string;
  readonly token?: { readonly realm: string; readonly service: string; readonly issuer: string; readonly rootcertbundle: string };
}

export interface TestRegistry {
  readonly port: number;
  /** `127.0.0.1:PORT`, the domain of references to it. */
  readonly host: string;
  readonly dir: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Ports fetch refuses to connect to (the WHATWG fetch spec's "bad ports" at and above 1024). */
const BAD_PORTS = new Set([1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080]);

export async function freePort(): Promise<number> {
  for (;;) {
    const p = await anyPort();
    if (!BAD_PORTS.has(p)) return p;
  }
}

function anyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function yaml(dir: string, port: number, c: RegistryConfig): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'storage')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (c.tls) lines.push('  tls:', `    certificate: ${c.tls.certificate}`, `    key: ${c.tls.key}`);
  if (c.tls?.clientcas) lines.push('    clientcas:', ...c.tls.clientcas.map((ca) => `      - ${ca}`));
  if (c.htpasswd) lines.push('auth:', '  htpasswd:', '    realm: wharf-test', `    path: ${c.htpasswd}`);
  if (c.token) {
    lines.push('auth:', '  token:', `    realm: ${c.token.realm}`, `    service: ${c.token.service}`, `    issuer: ${c.token.issuer}`, `    rootcertbundle: ${c.token.rootcertbundle}`);
  }
  return lines.join('\n') + '\n';
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/** Starts a registry; retries on a port taken between probing and binding. */
export async function startRegistry(config: RegistryConfig = {}): Promise<TestRegistry> {
  for (let attempt = 0; ; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-registry-'));
    await mkdir(join(dir, 'storage'));
    const port = await freePort();
    const cfg = join(dir, 'config.yml');
    await writeFile(cfg, yaml(dir, port, config));
    // Its log goes to a file, never a pipe: tests run wharf with spawnSync, which blocks this
    // process's event loop, and distribution logs every 404 (a HEAD of a blob a push is about to
    // send) at level error, ~800 bytes each. A pipe nobody drains fills after ~80 of them, and then
    // every request that logs hangs inside the registry (a 100-step cache export stopped that way).
    const logPath = join(dir, 'registry.log');
    const logFd = openSync(logPath, 'w');
    const child = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', 'ignore', logFd] });
    closeSync(logFd);
    const stderr = () => readFileSync(logPath, 'utf8').slice(-4000);
    let exited = false;
    const exit = new Promise<void>((res) => child.once('exit', () => ((exited = true), res())));
    const stop = async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exit;
        clearTimeout(t);
      }
      await rm(dir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline && !(await listening(port))) await new Promise((r) => setTimeout(r, 50));
    if (!exited && (await listening(port))) return { port, host: `127.0.0.1:${port}`, dir, child, stop };
    const log = stderr();
    await stop();
    if (attempt >= 2) throw new Error(`docker-registry did not start: ${log}`);
  }
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate signed by it, made with openssl in `dir`. */
export function makeTlsFiles(dir: string): { caCert: string; caKey: string; cert: string; key: string; clientCert: string; clientKey: string } {
  const p = (n: string) => join(dir, n);
  const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ossl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=wharf test CA', '-keyout', p('ca.key'), '-out', p('ca.crt')]);
  ossl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', p('server.key'), '-out', p('server.csr')]);
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ${p('san.ext')}`]);
  ossl(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('san.ext'), '-out', p('server.crt')]);
  ossl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=wharf test client', '-keyout', p('client.key'), '-out', p('client.csr')]);
  execFileSync('sh', ['-c', `printf 'extendedKeyUsage=clientAuth\\n' > ${p('client.ext')}`]);
  ossl(['x509', '-req', '-in', p('client.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('client.ext'), '-out', p('client.cert')]);
  return { caCert: p('ca.crt'), caKey: p('ca.key'), cert: p('server.crt'), key: p('server.key'), clientCert: p('client.cert'), clientKey: p('client.key') };
}

/** An htpasswd file (bcrypt, which distribution requires) with one user. */
export async function makeHtpasswd(path: string, user: string, password: string): Promise<string> {
  const line = execFileSync('htpasswd', ['-Bbn', user, password], { encoding: 'utf8' });
  await writeFile(path, line.trim() + '\n');
  return path;
}
