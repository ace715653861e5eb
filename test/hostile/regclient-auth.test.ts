import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCredentialStore, createRegistryHttp } from '../../src/registry/index.js';
import { isUserError } from '../../src/util/index.js';

/** Hostile registries, token servers, config files and certs.d entries: a UserError, never a hang or a leak. */
let dir: string;
const servers: Server[] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-regclient-hostile-'));
});
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  await rm(dir, { recursive: true, force: true });
});

async function serve(handler: RequestListener): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(s.address() as { port: number }).port}`;
}

async function userError(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await p;
  } catch (e) {
    assert.ok(isUserError(e), `a UserError, not ${String((e as Error).stack ?? e)}`);
    return e;
  }
  return assert.fail('expected a UserError');
}

const client = (configDir = join(dir, 'empty'), certsDir = join(dir, 'none')) => createRegistryHttp({ configDir, certsDir, timeoutMs: 3000, backoffMs: 10 });
const get = { method: 'GET' as const, path: 'manifests/x', access: 'pull' as const };

test('a token server that streams without end: the read stops at a cap and the error names the server', async () => {
  const tokenHost = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (res.write(chunk));
      res.once('drain', pump);
    };
    res.write('{"token":"');
    pump();
    res.on('close', () => res.removeAllListeners('drain'));
  });
  const host = await serve((_req, res) => res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${tokenHost}/t",service="s"` }).end());
  const c = client();
  try {
    const before = process.memoryUsage().rss;
    const e = await userError(c.send({ domain: host, path: 'a/b' }, get));
    assert.match(e.message, new RegExp(`token server ${tokenHost.replace(/\./g, '\\.')} for ${host.replace(/\./g, '\\.')} sent no token`));
    assert.ok(process.memoryUsage().rss - before < 200 << 20, 'memory stayed bounded');
  } finally {
    await c.close();
  }
});

test('a realm that is not http(s), and a garbled challenge: refused before any token request', async () => {
  const fileRealm = await serve((_req, res) => res.writeHead(401, { 'www-authenticate': 'Bearer realm="file:///etc/passwd",service="s"' }).end());
  const garbled = await serve((_req, res) => res.writeHead(401, { 'www-authenticate': 'Negotiate ,,,"=' }).end());
  const c = client();
  try {
    assert.match((await userError(c.send({ domain: fileRealm, path: 'a' }, get))).message, /invalid realm "file:\/\/\/etc\/passwd"/);
    assert.equal((await userError(c.send({ domain: garbled, path: 'a' }, get))).message, `authentication required for ${garbled}: run \`wharf login ${garbled}\``);
  } finally {
    await c.close();
  }
});

test('credentials are not sent to an absolute URL on another host (an upload Location pointing away)', async () => {
  const headers: (string | undefined)[] = [];
  const other = await serve((req, res) => {
    headers.push(req.headers.authorization);
    res.writeHead(201).end();
  });
  const host = await serve((req, res) => {
    if (req.headers.authorization) res.writeHead(202, { location: `http://${other}/elsewhere` }).end();
    else res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
  });
  const cfg = join(dir, 'basic');
  await mkdir(cfg);
  await writeFile(join(cfg, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from('u:p').toString('base64') } } }));
  const c = client(cfg);
  try {
    const start = await c.send({ domain: host, path: 'a' }, { method: 'POST', path: 'blobs/uploads/', access: 'push' });
    assert.equal(start.status, 202);
    const put = await c.send({ domain: host, path: 'a' }, { method: 'PUT', path: start.headers.get('location')!, body: new Uint8Array([1]), access: 'push' });
    assert.equal(put.status, 201);
    assert.deepEqual(headers, [undefined]);
  } finally {
    await c.close();
  }
});

test('config.json as a FIFO, as non-JSON, or with an auth that is not USER:PASSWORD: a UserError naming the file', async () => {
  const fifo = join(dir, 'fifo-cfg');
  await mkdir(fifo);
  execFileSync('mkfifo', [join(fifo, 'config.json')]);
  assert.match((await userError(createCredentialStore(fifo).get('h'))).message, /config\.json: is a FIFO/);
  const bad = join(dir, 'bad-cfg');
  await mkdir(bad);
  await writeFile(join(bad, 'config.json'), '[1,2');
  assert.match((await userError(createCredentialStore(bad).get('h'))).message, /config\.json is not a JSON object/);
  await writeFile(join(bad, 'config.json'), JSON.stringify({ auths: { h: { auth: Buffer.from('nocolon').toString('base64') } } }));
  assert.match((await userError(createCredentialStore(bad).get('h'))).message, /auth for h is not base64 of USER:PASSWORD/);
});

test('a credential helper name with a path, and a helper that prints without end: refused, bounded', async () => {
  const cfg = join(dir, 'helper-cfg');
  await mkdir(cfg);
  await writeFile(join(cfg, 'config.json'), JSON.stringify({ credHelpers: { h1: '../../bin/sh' }, credsStore: 'wharfflood' }));
  assert.match((await userError(createCredentialStore(cfg).get('h1'))).message, /credential helper name "\.\.\/\.\.\/bin\/sh" is invalid/);
  const bin = join(dir, 'flood-bin');
  await mkdir(bin);
  await writeFile(join(bin, 'docker-credential-wharfflood'), '#!/bin/sh\nexec yes\n');
  await chmod(join(bin, 'docker-credential-wharfflood'), 0o755);
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${saved ?? ''}`;
  try {
    assert.match((await userError(createCredentialStore(cfg).get('h2'))).message, /docker-credential-wharfflood get failed/);
  } finally {
    process.env.PATH = saved;
  }
});

test('a FIFO in certs.d is refused with its path, not read forever', async () => {
  const host = await serve((_req, res) => res.writeHead(200).end());
  const certs = join(dir, 'certs-fifo');
  await mkdir(join(certs, host), { recursive: true });
  execFileSync('mkfifo', [join(certs, host, 'ca.crt')]);
  const c = client(undefined, certs);
  try {
    const e = await userError(c.send({ domain: host, path: 'a' }, get));
    assert.equal(e.code, 'fs.not-regular');
    assert.match(e.message, /ca\.crt: is a FIFO/);
  } finally {
    await c.close();
  }
});
