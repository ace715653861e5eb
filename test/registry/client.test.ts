import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, copyFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryHttp, type RegistryClient } from '../../src/registry/index.js';
import { isUserError } from '../../src/util/index.js';
import { freePort, makeTlsFiles, startRegistry } from '../helpers/registry.js';

let dir: string;
const clients: RegistryClient[] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-regclient-'));
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await rm(dir, { recursive: true, force: true });
});

function client(opts: { certsDir?: string; timeoutMs?: number; tries?: number; insecure?: string[] } = {}): RegistryClient {
  const c = createRegistryHttp({ configDir: join(dir, 'docker'), certsDir: opts.certsDir ?? join(dir, 'no-certs.d'), backoffMs: 20, ...opts });
  clients.push(c);
  return c;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function rejectsUser(p: Promise<unknown>, check: (e: { code: string; message: string; hint?: string }) => void): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(isUserError(e), `a UserError, not ${String(e)}`);
    check(e);
    return;
  }
  assert.fail('expected a UserError');
}

test('(a) plain http on loopback: GET /v2/, a blob HEAD 404, a monolithic upload then HEAD 200', async () => {
  const reg = await startRegistry();
  try {
    const c = client();
    const repo = { domain: reg.host, path: 'team/app' };
    const ping = await c.send(repo, { method: 'GET', path: '/v2/', access: 'pull' });
    assert.equal(ping.status, 200);
    assert.equal(ping.headers.get('docker-distribution-api-version'), 'registry/2.0');
    await ping.body?.cancel();
    const blob = new TextEncoder().encode('hello registry\n');
    const digest = sha256(blob);
    const miss = await c.send(repo, { method: 'HEAD', path: `blobs/${digest}`, access: 'pull' });
    assert.equal(miss.status, 404);
    const start = await c.send(repo, { method: 'POST', path: 'blobs/uploads/', access: 'push' });
    assert.equal(start.status, 202);
    const loc = start.headers.get('location')!;
    const put = await c.send(repo, { method: 'PUT', path: `${loc}${loc.includes('?') ? '&' : '?'}digest=${digest}`, body: blob, headers: { 'content-type': 'application/octet-stream' }, access: 'push' });
    assert.equal(put.status, 201, await put.text());
    const hit = await c.send(repo, { method: 'HEAD', path: `blobs/${digest}`, access: 'pull' });
    assert.equal(hit.status, 200);
    assert.equal(hit.headers.get('content-length'), String(blob.length));
  } finally {
    await reg.stop();
  }
});

/** The status of GET /v2/ on repo's registry. */
async function ping(c: RegistryClient, repo: { domain: string; path: string }): Promise<number> {
  const res = await c.send(repo, { method: 'GET', path: '/v2/', access: 'pull' });
  await res.body?.cancel();
  return res.status;
}

/** A certs.d root named `name` whose HOST directory holds `files` (source path → name there). */
async function certsD(name: string, host: string, files: Record<string, string>): Promise<string> {
  const root = join(dir, name);
  await mkdir(join(root, host), { recursive: true });
  for (const [src, dst] of Object.entries(files)) await copyFile(src, join(root, host, dst));
  return root;
}

async function tlsFiles(name: string) {
  const tlsDir = join(dir, name);
  await mkdir(tlsDir);
  return makeTlsFiles(tlsDir);
}

test('(b) TLS with a private CA: trusted through certs.d, refused without it with the host and the certs.d hint', async () => {
  const files = await tlsFiles('tls');
  const reg = await startRegistry({ tls: { certificate: files.cert, key: files.key } });
  try {
    const certsDir = await certsD('certs.d', reg.host, { [files.caCert]: 'ca.crt' });
    const repo = { domain: reg.host, path: 'library/busybox' };
    const ok = await client({ certsDir }).send(repo, { method: 'GET', path: 'manifests/latest', access: 'pull' });
    assert.equal(ok.status, 404, 'reached the registry over TLS (no such manifest)');
    assert.match(await ok.text(), /MANIFEST_UNKNOWN|NAME_UNKNOWN/);
    await rejectsUser(client().send(repo, { method: 'GET', path: 'manifests/latest', access: 'pull' }), (e) => {
      assert.equal(e.code, 'registry.tls');
      assert.ok(e.message.includes(reg.host), e.message);
      assert.ok(e.hint?.includes(`${join(dir, 'no-certs.d')}/${reg.host}/ca.crt`), e.hint);
      assert.doesNotMatch(e.hint ?? '', /insecure-registry/);
    });
  } finally {
    await reg.stop();
  }
});

test('(b) a registry that requires client certificates: certs.d NAME.cert + NAME.key are presented', async () => {
  const files = await tlsFiles('mtls');
  const reg = await startRegistry({ tls: { certificate: files.cert, key: files.key, clientcas: [files.caCert] } });
  try {
    const onlyCa = await certsD('certs-ca-only', reg.host, { [files.caCert]: 'ca.crt' });
    const repo = { domain: reg.host, path: 'library/busybox' };
    await rejectsUser(client({ certsDir: onlyCa }).send(repo, { method: 'GET', path: '/v2/', access: 'pull' }), (e) => {
      assert.ok(e.message.includes(reg.host), e.message);
    });
    const withClient = await certsD('certs-client', reg.host, { [files.caCert]: 'ca.crt', [files.clientCert]: 'client.cert', [files.clientKey]: 'client.key' });
    assert.equal(await ping(client({ certsDir: withClient }), repo), 200);
  } finally {
    await reg.stop();
  }
});

test('a plain-http server on a host not named insecure: the --insecure-registry hint; with the flag it works', async () => {
  const reg = await startRegistry();
  try {
    // 127.1 reaches 127.0.0.1 but is not a loopback name for wharf (name-based check), like a LAN host.
    const domain = `127.1:${reg.port}`;
    const repo = { domain, path: 'x/y' };
    await rejectsUser(client().send(repo, { method: 'GET', path: '/v2/', access: 'pull' }), (e) => {
      assert.ok(e.message.includes(domain), e.message);
      assert.match(e.message, /plain http/);
      assert.equal(e.hint, `if that registry is meant to be used without TLS, pass --insecure-registry ${domain}`);
    });
    assert.equal(await ping(client({ insecure: [domain] }), repo), 200);
  } finally {
    await reg.stop();
  }
});

test('connection refused names the host and says to check the registry runs', async () => {
  const port = await freePort();
  await rejectsUser(client().send({ domain: `127.0.0.1:${port}`, path: 'a' }, { method: 'GET', path: '/v2/', access: 'pull' }), (e) => {
    assert.equal(e.code, 'registry.unreachable');
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}.*connection refused`));
  });
});

async function tinyServer(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; host: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  assert.ok(a && typeof a === 'object');
  return { server, host: `127.0.0.1:${a.port}` };
}

test('a 5xx is retried with the same body, and the retries are bounded', async () => {
  const bodies: string[] = [];
  const { server, host } = await tinyServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      bodies.push(b);
      if (req.url === '/v2/always/blobs/uploads/') res.writeHead(503).end('down');
      else res.writeHead(bodies.length === 1 ? 502 : 201).end();
    });
  });
  try {
    // Plain http: the server speaks http on a loopback host, found by the https attempt.
    const c = client({ tries: 3 });
    const res = await c.send({ domain: host, path: 'r' }, { method: 'PUT', path: 'manifests/t', body: new TextEncoder().encode('payload'), access: 'push' });
    assert.equal(res.status, 201);
    assert.deepEqual(bodies, ['payload', 'payload']);
    bodies.length = 0;
    const streamed = await c.send({ domain: host, path: 'always' }, {
      method: 'POST',
      path: 'blobs/uploads/',
      body: async function* () {
        yield new TextEncoder().encode('chunk');
      },
      access: 'push',
    });
    assert.equal(streamed.status, 503, 'after 3 tries the last answer is returned');
    assert.deepEqual(bodies, ['chunk', 'chunk', 'chunk'], 'a streamed body is produced again for each try');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a connection reset is retried; the caller\'s abort is not', async () => {
  let n = 0;
  const { server, host } = await tinyServer((req, res) => {
    n++;
    if (n === 1) req.socket.destroy();
    else res.writeHead(200).end('ok');
  });
  try {
    const c = client({ insecure: [host] });
    // The first connection is used by the https attempt on a loopback host; a fresh client per case.
    const res = await c.send({ domain: host, path: 'r' }, { method: 'GET', path: 'manifests/a', access: 'pull' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
    assert.equal(n, 2, 'answered by the second try');
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(c.send({ domain: host, path: 'r' }, { method: 'GET', path: 'manifests/a', access: 'pull', signal: ac.signal }), (e: unknown) => !isUserError(e));
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a server that never answers: the request times out with an error naming the host', async () => {
  const { server, host } = await tinyServer(() => undefined);
  try {
    const t0 = Date.now();
    await rejectsUser(client({ timeoutMs: 400, insecure: [host] }).send({ domain: host, path: 'r' }, { method: 'GET', path: '/v2/', access: 'pull' }), (e) => {
      assert.equal(e.code, 'registry.timeout');
      assert.ok(e.message.includes(host), e.message);
    });
    assert.ok(Date.now() - t0 < 5000, `gave up in ${Date.now() - t0} ms`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a 401 without a challenge: authentication required, naming the host', async () => {
  const { server, host } = await tinyServer((_req, res) => res.writeHead(401).end());
  try {
    await rejectsUser(client().send({ domain: host, path: 'r' }, { method: 'GET', path: 'manifests/x', access: 'pull' }), (e) => {
      assert.equal(e.message, `authentication required for ${host}: run \`wharf login ${host}\``);
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
