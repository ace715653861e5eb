import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createRegistryHttp } from '../../src/registry/index.js';
import { proxyFor } from '../../src/registry/proxy.js';

const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function listen(s: Server): Promise<number> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

test('proxy choice: the scheme\'s proxy, never for loopback, NO_PROXY hosts, domains and ports', () => {
  const p = { httpProxy: 'http://p:1', httpsProxy: 'http://ps:2', noProxy: 'internal.example, .corp.example,reg.example:5000' };
  assert.equal(proxyFor(p, new URL('https://registry-1.docker.io/v2/')), 'http://ps:2');
  assert.equal(proxyFor(p, new URL('http://reg.example:6000/v2/')), 'http://p:1');
  assert.equal(proxyFor(p, new URL('https://reg.example:5000/v2/')), undefined);
  assert.equal(proxyFor(p, new URL('https://internal.example/v2/')), undefined);
  assert.equal(proxyFor(p, new URL('https://a.internal.example/v2/')), undefined);
  assert.equal(proxyFor(p, new URL('https://x.corp.example/v2/')), undefined);
  assert.equal(proxyFor(p, new URL('https://notinternal.example/v2/')), 'http://ps:2');
  for (const u of ['https://127.0.0.1:5000/', 'https://localhost/', 'https://[::1]:5000/']) assert.equal(proxyFor(p, new URL(u)), undefined, u);
  assert.equal(proxyFor({ httpsProxy: 'http://ps:2', noProxy: '*' }, new URL('https://a.example/')), undefined);
  assert.equal(proxyFor({ httpProxy: 'http://p:1' }, new URL('https://a.example/')), 'http://p:1', 'HTTP_PROXY serves https too when HTTPS_PROXY is unset');
  assert.equal(proxyFor(undefined, new URL('https://a.example/')), undefined);
});

test('requests go through an HTTP CONNECT proxy when one is configured (NO_PROXY naming another host)', async () => {
  const regPort = await listen(createServer((_req, res) => res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0' }).end('{}')));
  const tunnels: string[] = [];
  const proxy = createServer();
  proxy.on('connect', (req, socket, head) => {
    tunnels.push(req.url ?? '');
    const [h, p] = (req.url ?? '').split(':');
    const up = connect(Number(p), h === 'registry.test' ? '127.0.0.1' : h!, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  const proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
  // A name only the proxy knows: it maps registry.test to 127.0.0.1, so the request reaches the
  // registry only through the tunnel (and nothing is looked up in DNS).
  const domain = `registry.test:${regPort}`;
  const via = createRegistryHttp({ configDir: join(tmpdir(), 'wharf-no-config'), certsDir: join(tmpdir(), 'wharf-no-certs'), insecure: [domain], proxy: { httpProxy: proxyUrl, httpsProxy: proxyUrl, noProxy: 'other.test' } });
  try {
    const res = await via.send({ domain, path: 'a' }, { method: 'GET', path: '/v2/', access: 'pull' });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.ok(tunnels.length >= 1 && tunnels.every((t) => t === domain), JSON.stringify(tunnels));
  } finally {
    await via.close();
  }
});

test('a proxy that refuses connections is named (without its password), and a port fetch blocks is said so', async () => {
  const port = await listen(createServer());
  servers.pop()!.close();
  const c = createRegistryHttp({ configDir: join(tmpdir(), 'wharf-no-config'), certsDir: join(tmpdir(), 'wharf-no-certs'), proxy: { httpsProxy: `http://u:secret@127.0.0.1:${port}` } });
  try {
    await assert.rejects(c.send({ domain: 'registry.test', path: 'a' }, { method: 'GET', path: '/v2/', access: 'pull' }), (e: Error & { hint?: string }) => {
      assert.equal(e.message, `cannot reach the proxy http://127.0.0.1:${port}/ (for registry.test): connection refused`);
      assert.match(e.hint ?? '', /NO_PROXY/);
      return true;
    });
    await assert.rejects(c.send({ domain: '127.0.0.1:10080', path: 'a' }, { method: 'GET', path: '/v2/', access: 'pull' }), /127\.0\.0\.1:10080: its port is on fetch's list of blocked ports/);
  } finally {
    await c.close();
  }
});
