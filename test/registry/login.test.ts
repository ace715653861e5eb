import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistryHttp } from '../../src/registry/index.js';
import { isUserError } from '../../src/util/index.js';
import { makeHtpasswd, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { wharfBin } from '../helpers/paths.js';

let dir: string;
let reg: TestRegistry;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-login-'));
  reg = await startRegistry({ htpasswd: await makeHtpasswd(join(dir, 'htpasswd'), 'alice', 's3cret pass') });
});
after(async () => {
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

const wharf = (configDir: string, args: string[], input = '', extraEnv: Record<string, string> = {}) =>
  spawnSync(process.execPath, [wharfBin, '--root', join(dir, 'store'), ...args], {
    encoding: 'utf8',
    input,
    env: { ...process.env, DOCKER_CONFIG: configDir, ...extraEnv },
  });

async function manifestStatus(configDir: string): Promise<number> {
  const c = createRegistryHttp({ configDir, certsDir: join(dir, 'none') });
  try {
    const res = await c.send({ domain: reg.host, path: 'team/app' }, { method: 'GET', path: 'manifests/latest', access: 'pull' });
    await res.body?.cancel();
    return res.status;
  } finally {
    await c.close();
  }
}

test('(c) htpasswd: no credentials gives the login hint; config.json credentials get through', async () => {
  const none = join(dir, 'none-config');
  await assert.rejects(manifestStatus(none), (e: unknown) => {
    assert.ok(isUserError(e));
    assert.equal(e.message, `authentication required for ${reg.host}: run \`wharf login ${reg.host}\``);
    return true;
  });
  const cfgDir = join(dir, 'written');
  await mkdir(cfgDir);
  const auth = Buffer.from('alice:s3cret pass').toString('base64');
  await writeFile(join(cfgDir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth } } }));
  assert.equal(await manifestStatus(cfgDir), 404, 'authenticated: the manifest is simply not there');
  const wrong = join(dir, 'wrong');
  await mkdir(wrong);
  await writeFile(join(wrong, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:nope').toString('base64') } } }));
  await assert.rejects(manifestStatus(wrong), /authentication required for/);
});

test('(c) wharf login --password-stdin writes config.json 0600 keeping other keys; wharf logout removes the entry', async () => {
  const cfgDir = join(dir, 'cli');
  await mkdir(cfgDir);
  const cfg = join(cfgDir, 'config.json');
  await writeFile(cfg, JSON.stringify({ HttpHeaders: { 'User-Agent': 'x' }, auths: { 'other.example': { auth: 'b3RoZXI6cA==' } } }), { mode: 0o644 });
  const bad = wharf(cfgDir, ['login', '-u', 'alice', '--password-stdin', reg.host], 'wrong\n');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, new RegExp(`login to ${reg.host.replace(/\./g, '\\.')} failed`));
  assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/, 'no stack trace');
  assert.ok(!(await readFile(cfg, 'utf8')).includes(reg.host), 'a refused login writes nothing');

  const r = wharf(cfgDir, ['login', '-u', 'alice', '--password-stdin', reg.host], 's3cret pass\n');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Login Succeeded/);
  assert.equal((await stat(cfg)).mode & 0o777, 0o600);
  const written = JSON.parse(await readFile(cfg, 'utf8')) as { HttpHeaders: unknown; auths: Record<string, { auth: string }> };
  assert.deepEqual(written.HttpHeaders, { 'User-Agent': 'x' });
  assert.equal(written.auths['other.example']!.auth, 'b3RoZXI6cA==');
  assert.equal(Buffer.from(written.auths[reg.host]!.auth, 'base64').toString(), 'alice:s3cret pass');
  assert.equal(await manifestStatus(cfgDir), 404, 'the written credentials work');

  const out = wharf(cfgDir, ['logout', reg.host]);
  assert.equal(out.status, 0, out.stderr);
  const after = JSON.parse(await readFile(cfg, 'utf8')) as { auths: Record<string, unknown>; HttpHeaders: unknown };
  assert.ok(!(reg.host in after.auths));
  assert.ok('other.example' in after.auths);
  assert.deepEqual(after.HttpHeaders, { 'User-Agent': 'x' });
});

test('(c) a password on the command line is refused before any request, with the --password-stdin hint', async () => {
  const cfgDir = join(dir, 'refused');
  for (const flag of [['-p', 's3cret pass'], ['--password', 's3cret pass'], ['--password=s3cret pass']]) {
    const r = wharf(cfgDir, ['login', '-u', 'alice', ...flag, '127.0.0.1:1']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /password on the command line is refused/);
    assert.match(r.stderr, /--password-stdin/);
  }
  await assert.rejects(stat(join(cfgDir, 'config.json')), { code: 'ENOENT' });
});

test('(c) a credential helper named by credsStore is used for get, store and erase', async () => {
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const storeFile = join(dir, 'helper-store.json');
  // A docker-credential-* helper: store keeps the JSON it is given, get prints it, erase deletes it.
  await writeFile(join(bin, 'docker-credential-wharftest'), [
    '#!/bin/sh',
    `F=${storeFile}`,
    'case "$1" in',
    '  store) cat > "$F" ;;',
    '  get) read url; if [ -f "$F" ]; then cat "$F"; else echo "credentials not found in native keychain"; exit 1; fi ;;',
    '  erase) rm -f "$F" ;;',
    'esac',
  ].join('\n') + '\n');
  await chmod(join(bin, 'docker-credential-wharftest'), 0o755);
  const cfgDir = join(dir, 'helper');
  await mkdir(cfgDir);
  await writeFile(join(cfgDir, 'config.json'), JSON.stringify({ credsStore: 'wharftest' }));
  const env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
  const r = wharf(cfgDir, ['login', '-u', 'alice', '--password-stdin', reg.host], 's3cret pass', env);
  assert.equal(r.status, 0, r.stderr);
  const stored = JSON.parse(await readFile(storeFile, 'utf8')) as Record<string, string>;
  assert.deepEqual(stored, { ServerURL: reg.host, Username: 'alice', Secret: 's3cret pass' });
  assert.deepEqual(JSON.parse(await readFile(join(cfgDir, 'config.json'), 'utf8')), { credsStore: 'wharftest' }, 'nothing written to config.json');
  const saved = process.env.PATH;
  process.env.PATH = env.PATH;
  try {
    assert.equal(await manifestStatus(cfgDir), 404, 'credentials from the helper get through');
  } finally {
    process.env.PATH = saved;
  }
  const out = wharf(cfgDir, ['logout', reg.host], '', env);
  assert.equal(out.status, 0, out.stderr);
  await assert.rejects(stat(storeFile), { code: 'ENOENT' });
});
