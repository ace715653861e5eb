// `wharf serve` over TLS as dockerd serves it: --tlsverify (client certificates checked against the
// CA) and --tls (server certificate only), driven by the stock docker 20.10 CLI with certificates
// made here by openssl; clients without a certificate or with one from another CA are refused; a
// non-loopback TCP address without --tlsverify and bad flag combinations are refused by name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { wharfBuildEnv, type WharfBuildEnv } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';
import { DOCKER } from '../helpers/dockerd.js';
import { parseHost } from '../../src/server/index.js';

const suite = {} as { dir: string; env: WharfBuildEnv; certs: string };
const started: ChildProcess[] = [];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: suite.certs, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, and a key + certificate it signs (`ext`: the extensions file's lines). */
async function makeCa(name: string): Promise<void> {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
}
async function makeCert(name: string, ca: string, ext: string): Promise<void> {
  await writeFile(join(suite.certs, `${name}.ext`), ext);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial', '-out', `${name}-cert.pem`, '-days', '2', '-extfile', `${name}.ext`]);
}

before(async () => {
  suite.dir = await mkdtemp(join(tmpdir(), 'wharf-serve-tls-'));
  suite.env = wharfBuildEnv(suite.dir);
  suite.env.importBusybox();
  suite.certs = join(suite.dir, 'certs');
  execFileSync('mkdir', ['-p', suite.certs]);
  await makeCa('ca');
  await makeCa('other-ca');
  await makeCert('server', 'ca', 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n');
  await makeCert('client', 'ca', 'extendedKeyUsage = clientAuth\n');
  await makeCert('stranger', 'other-ca', 'extendedKeyUsage = clientAuth\n');
});
after(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await Promise.all(started.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  if (suite.dir) await rm(suite.dir, { recursive: true, force: true });
});

const cert = (f: string) => join(suite.certs, f);

/** Starts `wharf serve` on a free loopback port with `flags`; resolves with its address once it serves. */
async function serveTcp(flags: string[]): Promise<{ host: string; log: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [wharfBin, '--root', suite.env.root, 'serve', '--host', 'tcp://127.0.0.1:0', ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  started.push(child);
  let log = '';
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 400 && !/serving .* on (tcp:\/\/\S+)/.test(log) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
  const m = / on (tcp:\/\/127\.0\.0\.1:\d+)/.exec(log);
  if (!m) throw new Error(`wharf serve did not start: ${log}`);
  return {
    host: m[1]!,
    log: () => log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The stock docker CLI with only the TLS flags given (an empty DOCKER_CERT_PATH: no default certificates). */
function docker(host: string, tlsArgs: string[], args: string[]) {
  const cfg = join(suite.dir, 'docker-config');
  const r = spawnSync(DOCKER, ['-H', host, ...tlsArgs, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DOCKER_BUILDKIT: '0', DOCKER_CONFIG: cfg, DOCKER_CERT_PATH: join(suite.dir, 'no-certs') },
    timeout: 120_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('--tlsverify: the docker CLI with a client certificate from the CA gets version and builds; no certificate, another CA, or plain HTTP is refused', async () => {
  const srv = await serveTcp(['--tlsverify', '--tlscacert', cert('ca.pem'), '--tlscert', cert('server-cert.pem'), '--tlskey', cert('server-key.pem')]);
  const ok = ['--tlsverify', '--tlscacert', cert('ca.pem'), '--tlscert', cert('client-cert.pem'), '--tlskey', cert('client-key.pem')];
  const v = docker(srv.host, ok, ['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), '1.41 linux');

  const ctx = await suite.env.context('tls-ctx', { Dockerfile: 'FROM busybox:test\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt\n', 'a.txt': 'over tls\n' });
  const b = docker(srv.host, ok, ['build', '-t', 'tls:1', ctx]);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /Successfully tagged tls:1/);
  assert.equal(suite.env.wharf(['run', 'tls:1', 'cat', '/b.txt']).stdout, 'over tls\n', 'the image built through TLS is in the store');

  // No client certificate: the handshake is refused, and nothing is served.
  const none = docker(srv.host, ['--tlsverify', '--tlscacert', cert('ca.pem')], ['version', '--format', '{{.Server.APIVersion}}']);
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /certificate|tls/i);
  assert.doesNotMatch(none.stdout, /1\.41/);
  // A certificate signed by another CA: refused the same way.
  const stranger = docker(srv.host, ['--tlsverify', '--tlscacert', cert('ca.pem'), '--tlscert', cert('stranger-cert.pem'), '--tlskey', cert('stranger-key.pem')], ['version', '--format', '{{.Server.APIVersion}}']);
  assert.notEqual(stranger.status, 0);
  assert.match(stranger.stderr, /certificate|tls/i);
  assert.doesNotMatch(stranger.stdout, /1\.41/);
  // Plain HTTP to the TLS port gets no API answer.
  const port = Number(/:(\d+)$/.exec(srv.host)![1]);
  const plain = await new Promise<string>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/_ping', agent: false }, (res) => resolve(`status ${res.statusCode}`));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`));
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
  assert.doesNotMatch(plain, /status 200/);
  assert.match(srv.log(), /127\.0\.0\.1 TLS refused: .*certificate/, 'refused handshakes are logged');
  assert.equal(await srv.stop(), 0);
});

test('--tls: server certificate only; a client without a certificate is served', async () => {
  const srv = await serveTcp(['--tls', '--tlscert', cert('server-cert.pem'), '--tlskey', cert('server-key.pem')]);
  const v = docker(srv.host, ['--tlsverify', '--tlscacert', cert('ca.pem')], ['version', '--format', '{{.Server.APIVersion}}']);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), '1.41');
  // Without TLS the client speaks HTTP to a TLS port and fails.
  const plain = docker(srv.host, [], ['version', '--format', '{{.Server.APIVersion}}']);
  assert.notEqual(plain.status, 0);
  assert.equal(await srv.stop(), 0);
});

function serveFails(args: string[]): { status: number; stderr: string } {
  const r = spawnSync(process.execPath, [wharfBin, '--root', suite.env.root, 'serve', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status ?? -1, stderr: r.stderr };
}

test('secure by default: a non-loopback TCP address needs --tlsverify; bad TLS flags and files are named', () => {
  const srvFiles = ['--tlscert', cert('server-cert.pem'), '--tlskey', cert('server-key.pem')];
  const open = serveFails(['--host', 'tcp://0.0.0.0:0']);
  assert.equal(open.status, 1);
  assert.match(open.stderr, /--host tcp:\/\/0\.0\.0\.0:0: refused without --tlsverify: anyone who reaches that address could run builds/);
  assert.match(open.stderr, /--tlsverify --tlscacert CA --tlscert CERT --tlskey KEY/, 'says how');
  assert.doesNotMatch(open.stderr, /\n\s+at /, 'no stack trace');
  const tlsOnly = serveFails(['--host', 'tcp://0.0.0.0:0', '--tls', ...srvFiles]);
  assert.equal(tlsOnly.status, 1);
  assert.match(tlsOnly.stderr, /refused without --tlsverify/, '--tls checks no client: still refused off loopback');

  // With --tlsverify any address may be served (not bound here: tests stay on loopback).
  assert.deepEqual(parseHost('tcp://0.0.0.0:2376', true), { tcp: { host: '0.0.0.0', port: 2376 } });
  assert.throws(() => parseHost('tcp://0.0.0.0:2376'), /refused without --tlsverify/);

  const noCa = serveFails(['--host', 'tcp://127.0.0.1:0', '--tlsverify', ...srvFiles]);
  assert.equal(noCa.status, 1);
  assert.match(noCa.stderr, /--tlsverify needs --tlscacert/);
  const noKey = serveFails(['--host', 'tcp://127.0.0.1:0', '--tls', '--tlscert', cert('server-cert.pem')]);
  assert.match(noKey.stderr, /--tls needs --tlskey/);
  const missing = join(suite.certs, 'nope-key.pem');
  const unreadable = serveFails(['--host', 'tcp://127.0.0.1:0', '--tls', '--tlscert', cert('server-cert.pem'), '--tlskey', missing]);
  assert.equal(unreadable.status, 1);
  assert.ok(unreadable.stderr.includes(`--tlskey ${missing}: cannot read it (ENOENT)`), unreadable.stderr);
  const notKey = serveFails(['--host', 'tcp://127.0.0.1:0', '--tls', '--tlscert', cert('server-cert.pem'), '--tlskey', cert('server.ext')]);
  assert.ok(notKey.stderr.includes(`--tlskey ${cert('server.ext')}: not a PEM private key`), notKey.stderr);
  const wrongKey = serveFails(['--host', 'tcp://127.0.0.1:0', '--tls', '--tlscert', cert('server-cert.pem'), '--tlskey', cert('client-key.pem')]);
  assert.ok(wrongKey.stderr.includes(`--tlskey ${cert('client-key.pem')} is not the key of the certificate in --tlscert ${cert('server-cert.pem')}`), wrongKey.stderr);
  const badCa = serveFails(['--host', 'tcp://127.0.0.1:0', '--tlsverify', '--tlscacert', cert('client-key.pem'), ...srvFiles]);
  assert.ok(badCa.stderr.includes(`--tlscacert ${cert('client-key.pem')}: no PEM certificate in it`), badCa.stderr);
  const stray = serveFails(['--host', 'tcp://127.0.0.1:0', '--tlscacert', cert('ca.pem')]);
  assert.match(stray.stderr, /--tlscacert was given without --tls or --tlsverify/);
  const unix = serveFails(['--host', `unix://${join(suite.dir, 'x.sock')}`, '--tls', ...srvFiles]);
  assert.match(unix.stderr, /--tls applies to tcp:\/\/ hosts/);
});
