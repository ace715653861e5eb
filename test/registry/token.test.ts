import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryHttp } from '../../src/registry/index.js';
import { isUserError } from '../../src/util/index.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { wharfBin } from '../helpers/paths.js';

/**
 * (d) token auth: a registry with `auth.token` and a token server in this test that signs JWTs
 * (RS256, the signing certificate in the `x5c` header, trusted through `rootcertbundle`), granting
 * what is asked to anyone with alice's password or refresh token, and `pull` anonymously.
 */
const SERVICE = 'wharf-test-registry';
const ISSUER = 'wharf-test-issuer';
let dir: string;
let reg: TestRegistry;
let tokenServer: Server;
let realm: string;
interface Seen { method: string; scopes: string[]; service: string | null; user?: string; refresh?: string }
const seen: Seen[] = [];
let expiresIn = 300;

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function grant(key: ReturnType<typeof createPrivateKey>, certDer: Buffer, scopes: string[], who: string | undefined): string {
  const access = scopes.map((s) => {
    const [type, name, actions] = s.split(':') as [string, string, string];
    const asked = actions.split(',');
    return { type, name, actions: who ? asked : asked.filter((a) => a === 'pull') };
  });
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] }));
  const claims = b64url(JSON.stringify({ iss: ISSUER, sub: who ?? '', aud: SERVICE, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access }));
  return `${header}.${claims}.${b64url(sign('sha256', Buffer.from(`${header}.${claims}`), key))}`;
}

function bodyOf(req: IncomingMessage): Promise<string> {
  return new Promise((res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => res(b));
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-token-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=wharf token signer', '-keyout', join(dir, 'signer.key'), '-out', join(dir, 'signer.crt')], { stdio: 'pipe' });
  const key = createPrivateKey(await readFile(join(dir, 'signer.key')));
  const certDer = new X509Certificate(await readFile(join(dir, 'signer.crt'))).raw;
  tokenServer = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const auth = req.headers.authorization;
      let who: string | undefined;
      let refresh: string | undefined;
      let scopes = url.searchParams.getAll('scope');
      let service = url.searchParams.get('service');
      if (req.method === 'POST') {
        const form = new URLSearchParams(await bodyOf(req));
        refresh = form.get('refresh_token') ?? undefined;
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        service = form.get('service');
        if (form.get('grant_type') !== 'refresh_token' || refresh !== 'refresh-abc') return void res.writeHead(401).end();
        who = 'alice';
      } else if (auth) {
        if (auth !== `Basic ${Buffer.from('alice:pw').toString('base64')}`) return void res.writeHead(401).end('{"details":"bad password"}');
        who = 'alice';
      }
      seen.push({ method: req.method ?? '', scopes, service, ...(who ? { user: who } : {}), ...(refresh ? { refresh } : {}) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: grant(key, certDer, scopes, who), expires_in: expiresIn }));
    })();
  });
  await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
  const a = tokenServer.address() as { port: number };
  realm = `http://127.0.0.1:${a.port}/token`;
  reg = await startRegistry({ token: { realm, service: SERVICE, issuer: ISSUER, rootcertbundle: join(dir, 'signer.crt') } });
});
after(async () => {
  await reg?.stop();
  tokenServer?.closeAllConnections();
  tokenServer?.close();
  await rm(dir, { recursive: true, force: true });
});

async function configWith(name: string, entry: Record<string, string>): Promise<string> {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  await writeFile(join(d, 'config.json'), JSON.stringify({ auths: { [reg.host]: entry } }));
  return d;
}

test('(d) anonymous pull: the challenge is followed, the token is cached per scope until it expires', async () => {
  seen.length = 0;
  expiresIn = 6; // cached for 1 s (tokens are dropped 5 s early)
  const c = createRegistryHttp({ configDir: join(dir, 'anon'), certsDir: join(dir, 'none') });
  try {
    const repo = { domain: reg.host, path: 'team/app' };
    for (let i = 0; i < 2; i++) {
      const r = await c.send(repo, { method: 'GET', path: 'manifests/latest', access: 'pull' });
      assert.equal(r.status, 404, 'the token was accepted: the manifest is just not there');
      await r.body?.cancel();
    }
    assert.deepEqual(seen, [{ method: 'GET', scopes: ['repository:team/app:pull'], service: SERVICE }], 'one token for two requests');
    await new Promise((r) => setTimeout(r, 1100));
    const r = await c.send(repo, { method: 'HEAD', path: 'manifests/latest', access: 'pull' });
    assert.equal(r.status, 404);
    assert.equal(seen.length, 2, 'a new token after the first expired');
  } finally {
    expiresIn = 300;
    await c.close();
  }
});

test('(d) push needs credentials: anonymous gets the login hint; Basic to the token server, with alsoPull in the scope, gets through', async () => {
  seen.length = 0;
  const repo = { domain: reg.host, path: 'team/app' };
  const push = { method: 'POST' as const, path: 'blobs/uploads/', access: 'push' as const, alsoPull: [{ domain: reg.host, path: 'team/base' }] };
  const anon = createRegistryHttp({ configDir: join(dir, 'anon'), certsDir: join(dir, 'none') });
  try {
    await assert.rejects(anon.send(repo, push), (e: unknown) => {
      assert.ok(isUserError(e));
      assert.equal(e.message, `authentication required for ${reg.host}: run \`wharf login ${reg.host}\``);
      return true;
    });
  } finally {
    await anon.close();
  }
  const c = createRegistryHttp({ configDir: await configWith('basic', { auth: Buffer.from('alice:pw').toString('base64') }), certsDir: join(dir, 'none') });
  try {
    const r = await c.send(repo, push);
    assert.equal(r.status, 202, await r.text());
    assert.deepEqual(seen.at(-1), { method: 'GET', scopes: ['repository:team/app:pull,push', 'repository:team/base:pull'], service: SERVICE, user: 'alice' });
  } finally {
    await c.close();
  }
});

test('(d) an identitytoken in config.json is sent as a refresh token by POST', async () => {
  seen.length = 0;
  const c = createRegistryHttp({ configDir: await configWith('identity', { auth: '', identitytoken: 'refresh-abc' }), certsDir: join(dir, 'none') });
  try {
    const r = await c.send({ domain: reg.host, path: 'team/app' }, { method: 'POST', path: 'blobs/uploads/', access: 'push' });
    assert.equal(r.status, 202);
    assert.deepEqual(seen, [{ method: 'POST', scopes: ['repository:team/app:pull,push'], service: SERVICE, user: 'alice', refresh: 'refresh-abc' }]);
  } finally {
    await c.close();
  }
});

test('(d) wharf login checks the password with the token server', async () => {
  const cfgDir = join(dir, 'login');
  // Asynchronously: the token server runs in this process.
  const run = (pw: string) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [wharfBin, 'login', '-u', 'alice', '--password-stdin', reg.host], { env: { ...process.env, DOCKER_CONFIG: cfgDir } });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.resume();
      child.on('close', (status) => resolve({ status, stderr }));
      child.stdin.end(pw);
    });
  const bad = await run('wrong');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /login to .* failed/);
  const ok = await run('pw\n');
  assert.equal(ok.status, 0, ok.stderr);
  const cfg = JSON.parse(await readFile(join(cfgDir, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(cfg.auths[reg.host]!.auth, 'base64').toString(), 'alice:pw');
});
