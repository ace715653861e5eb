// The plain-http hint: a registry found speaking plain http (loopback or --insecure-registry) is
// remembered, so a later client goes to http at once (no TLS attempt, and no undici: node:http);
// a host that moved to TLS since is reached over https and the stale hint dropped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryHttp, type PlainHttpHosts, type RegistryClient } from '../../src/registry/index.js';
import { plainHttpHostsIn } from '../../src/api/index.js';
import { makeTlsFiles, startRegistry } from '../helpers/registry.js';

let dir: string;
const clients: RegistryClient[] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-plainhint-'));
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await rm(dir, { recursive: true, force: true });
});

function client(hosts: PlainHttpHosts, certsDir = join(dir, 'no-certs.d')): RegistryClient {
  const c = createRegistryHttp({ configDir: join(dir, 'docker'), certsDir, backoffMs: 20, plainHttpHosts: hosts });
  clients.push(c);
  return c;
}

const memoryHosts = (): PlainHttpHosts & { set: Set<string> } => {
  const set = new Set<string>();
  return { set, has: (h) => set.has(h), add: (h) => void set.add(h), delete: (h) => void set.delete(h) };
};

/** A TCP relay in front of `port` that counts connections opening with a TLS handshake (0x16). */
async function tlsCountingRelay(port: number): Promise<{ host: string; tls: () => number; close: () => Promise<void> }> {
  let tls = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    sock.once('data', (first) => {
      if (first[0] === 0x16) tls++;
      const up = connect(port, '127.0.0.1', () => {
        sock.on('close', () => up.destroy());
        up.write(first);
        sock.pipe(up).pipe(sock);
      });
      up.on('error', () => sock.destroy());
      sock.on('error', () => up.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return { host: `127.0.0.1:${addr.port}`, tls: () => tls, close: () => new Promise((r) => {
    server.close(() => r());
    for (const s of open) s.destroy(); // the clients' kept-alive connections
  }) };
}

async function status(c: RegistryClient, repo: { domain: string; path: string }, path: string): Promise<number> {
  const res = await c.send(repo, { method: 'GET', path, access: 'pull' });
  await res.body?.cancel();
  return res.status;
}

test('a plain-http registry is recorded; a later client with the record sends no TLS handshake', async () => {
  const reg = await startRegistry();
  const relay = await tlsCountingRelay(Number(reg.host.split(':')[1]));
  try {
    const hosts = memoryHosts();
    const repo = { domain: relay.host, path: 'team/app' };
    assert.equal(await status(client(hosts), repo, '/v2/'), 200);
    assert.equal(relay.tls(), 1, 'the first client tried https first');
    assert.deepEqual([...hosts.set], [relay.host], 'and recorded that the host speaks plain http');
    const later = client(hosts);
    assert.equal(await status(later, repo, '/v2/'), 200);
    assert.equal(await status(later, repo, 'manifests/latest'), 404);
    const head = await later.send(repo, { method: 'HEAD', path: `blobs/sha256:${'0'.repeat(64)}`, access: 'pull' });
    assert.equal(head.status, 404);
    assert.equal(relay.tls(), 1, 'the later client went to http at once');
  } finally {
    await relay.close();
    await reg.stop();
  }
});

test('a stale record for a host that now speaks TLS: reached over https, and the record dropped', async () => {
  const tlsDir = join(dir, 'tls');
  await mkdir(tlsDir);
  const files = makeTlsFiles(tlsDir);
  const reg = await startRegistry({ tls: { certificate: files.cert, key: files.key } });
  try {
    const certsDir = join(dir, 'certs.d');
    await mkdir(join(certsDir, reg.host), { recursive: true });
    await copyFile(files.caCert, join(certsDir, reg.host, 'ca.crt'));
    const hosts = memoryHosts();
    hosts.add(reg.host);
    const repo = { domain: reg.host, path: 'library/busybox' };
    const res = await client(hosts, certsDir).send(repo, { method: 'GET', path: 'manifests/latest', access: 'pull' });
    assert.equal(res.status, 404, 'reached the registry over TLS (no such manifest)');
    assert.match(await res.text(), /MANIFEST_UNKNOWN|NAME_UNKNOWN/);
    assert.equal(hosts.has(reg.host), false);
  } finally {
    await reg.stop();
  }
});

test("the CLI's record lives in the store's cache dir and survives a new instance; odd lines are ignored", async () => {
  const root = join(dir, 'root');
  const a = plainHttpHostsIn(root);
  assert.equal(a.has('127.0.0.1:5000'), false);
  a.add('127.0.0.1:5000');
  a.add('[::1]:5001');
  const file = join(root, 'cache', 'registry-plain-http');
  assert.equal(await readFile(file, 'utf8'), '127.0.0.1:5000\n[::1]:5001\n');
  const b = plainHttpHostsIn(root);
  assert.equal(b.has('[::1]:5001'), true);
  b.delete('127.0.0.1:5000');
  assert.equal(plainHttpHostsIn(root).has('127.0.0.1:5000'), false);
  await writeFile(file, 'bad host with spaces\nlocalhost:5000\n');
  const c = plainHttpHostsIn(root);
  assert.equal(c.has('localhost:5000'), true);
  assert.equal(c.has('bad host with spaces'), false);
});
