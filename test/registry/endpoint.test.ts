import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointFor, isLoopback } from '../../src/registry/endpoint.js';
import { parseChallenge, TokenCache } from '../../src/registry/auth.js';
import { createCredentialStore } from '../../src/registry/index.js';

test('endpoints: docker.io goes to registry-1.docker.io over https only; http only for loopback and named insecure hosts', () => {
  assert.deepEqual(endpointFor('docker.io', []), { domain: 'docker.io', hostPort: 'registry-1.docker.io', httpAllowed: false });
  assert.deepEqual(endpointFor('registry.example:5000', []), { domain: 'registry.example:5000', hostPort: 'registry.example:5000', httpAllowed: false });
  assert.equal(endpointFor('registry.example:5000', ['registry.example:5000']).httpAllowed, true);
  assert.equal(endpointFor('registry.example:5000', ['registry.example']).httpAllowed, true);
  assert.equal(endpointFor('registry.example:5000', ['other.example']).httpAllowed, false);
  for (const h of ['127.0.0.1:5000', '127.9.9.9', 'localhost:5000', '[::1]:5000']) assert.equal(endpointFor(h, []).httpAllowed, true, h);
  for (const h of ['127.example.com', '10.0.0.1', 'localhost.example.com', '::2']) assert.equal(isLoopback(h), false, h);
});

test('WWW-Authenticate: Bearer and Basic with quoted, escaped and unquoted parameters; others are not challenges', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
  });
  assert.deepEqual(parseChallenge('basic Realm="say \\"hi\\"", charset=UTF-8'), { scheme: 'basic', params: { realm: 'say "hi"', charset: 'UTF-8' } });
  assert.equal(parseChallenge('Negotiate abc'), undefined);
  assert.equal(parseChallenge(null), undefined);
});

test('the token cache keeps a token until shortly before it expires', () => {
  let now = 1_000_000;
  const c = new TokenCache(() => now);
  c.set('h', 'repository:a:pull', 't', 60);
  assert.equal(c.get('h', 'repository:a:pull'), 't');
  assert.equal(c.get('h', 'repository:a:pull,push'), undefined, 'per scope');
  now += 54_000;
  assert.equal(c.get('h', 'repository:a:pull'), 't');
  now += 2_000;
  assert.equal(c.get('h', 'repository:a:pull'), undefined);
});

test('docker.io credentials are keyed https://index.docker.io/v1/ as docker writes them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-cred-'));
  try {
    const store = createCredentialStore(dir);
    await store.store('docker.io', { username: 'u', password: 'p:w' });
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.deepEqual(Object.keys(cfg.auths), ['https://index.docker.io/v1/']);
    assert.deepEqual(await store.get('docker.io'), { username: 'u', password: 'p:w' }, 'a colon in the password survives');
    assert.equal(await store.erase('docker.io'), true);
    assert.equal(await store.get('docker.io'), undefined);
    assert.equal(await store.erase('docker.io'), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('network errors name the host and the fix: DNS failure, unknown CA, expired certificate', async () => {
  const { networkError } = await import('../../src/registry/net-errors.js');
  const wrap = (code: string, message = code) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(message), { code }) });
  const dns = networkError('reg.example:5000', 'https://reg.example:5000/v2/', wrap('ENOTFOUND', 'getaddrinfo ENOTFOUND reg.example'), '/etc/docker/certs.d', 30_000);
  assert.equal(dns.message, 'cannot resolve reg.example:5000: no such host');
  assert.match(dns.hint ?? '', /typos.*DNS/);
  const ca = networkError('reg.example:5000', 'https://reg.example:5000/v2/', wrap('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'), '/etc/docker/certs.d', 30_000);
  assert.equal(ca.hint, 'if reg.example:5000 uses a private CA, put its certificate in /etc/docker/certs.d/reg.example:5000/ca.crt');
  const expired = networkError('reg.example', 'https://reg.example/v2/', wrap('CERT_HAS_EXPIRED', 'certificate has expired'), '/c', 30_000);
  assert.match(expired.message, /TLS with reg\.example failed: certificate has expired/);
  assert.doesNotMatch(expired.hint ?? '', /insecure-registry/);
});

test('wharf login takes docker\'s spellings of a server', async () => {
  const { loginDomain } = await import('../../src/api/index.js');
  assert.equal(loginDomain('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(loginDomain('registry-1.docker.io'), 'docker.io');
  assert.equal(loginDomain('https://reg.example:5000/'), 'reg.example:5000');
  assert.throws(() => loginDomain('user@host'), /invalid registry name/);
});
