// The library logs in and out as `wharf login/logout` do, with no CLI in between: credentials are
// checked against a real registry (htpasswd) and kept in docker's config.json only when right.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { login, logout } from '../../src/api/index.js';
import { makeHtpasswd, startRegistry, type TestRegistry } from '../helpers/registry.js';

let dir: string;
let reg: TestRegistry;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-api-login-'));
  reg = await startRegistry({ htpasswd: await makeHtpasswd(join(dir, 'htpasswd'), 'alice', 'pw') });
});
after(async () => {
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('login(): a wrong password throws and keeps nothing; save:false only checks; a right one is kept; logout forgets it', async () => {
  const registry = { configDir: join(dir, 'docker'), certsDir: join(dir, 'none') };
  const cfg = join(registry.configDir, 'config.json');
  await assert.rejects(login({ server: reg.host, username: 'alice', password: 'wrong', registry }), /failed/);
  assert.ok(!existsSync(cfg), 'a refused login writes nothing');
  assert.deepEqual(await login({ server: `https://${reg.host}/`, username: 'alice', password: 'pw', registry, save: false }), { domain: reg.host });
  assert.ok(!existsSync(cfg), 'save:false writes nothing');
  await login({ server: reg.host, username: 'alice', password: 'pw', registry });
  const kept = JSON.parse(await readFile(cfg, 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(kept.auths[reg.host]!.auth, 'base64').toString(), 'alice:pw');
  assert.deepEqual(await logout(reg.host, registry), { domain: reg.host, found: true });
  assert.deepEqual(await logout(reg.host, registry), { domain: reg.host, found: false });
});
