import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOciConfig } from '../../src/runtime/oci-config.js';
import { resolveUser, resolveInRoot, type ProcessSpec } from '../../src/runtime/index.js';

describe('user resolution and in-root paths', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'wharf-user-'));
    // The host side of an escape attempt: a passwd file outside the rootfs.
    writeFileSync(join(tmp, 'outside-passwd'), 'evil:x:666:666::/:/bin/sh\n');
    mkdirSync(join(tmp, 'root', 'etc'), { recursive: true });
    mkdirSync(join(tmp, 'root', 'real'), { recursive: true });
    writeFileSync(join(tmp, 'root', 'real', 'passwd'), 'web:x:33:33::/var/www:/bin/sh\n');
    writeFileSync(join(tmp, 'root', 'etc', 'group'), 'web:x:33:\nstaff:x:50:web,other\n');
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('follows symlinks inside the root and never out of it', async () => {
    const root = join(tmp, 'root');
    symlinkSync('../../../../../outside-passwd', join(root, 'etc', 'passwd'));
    assert.equal(await resolveInRoot(root, '/etc/passwd'), join(root, 'outside-passwd'));
    await assert.rejects(resolveUser(root, 'evil'), /unable to find user evil/);
    rmSync(join(root, 'etc', 'passwd'));
    symlinkSync('/real/passwd', join(root, 'etc', 'passwd'));
    assert.equal(await resolveInRoot(root, '/etc/passwd'), join(root, 'real', 'passwd'));
    const web = await resolveUser(root, 'web');
    assert.deepEqual(web, { uid: 33, gid: 33, additionalGids: [50], home: '/var/www' });
    assert.deepEqual(await resolveUser(root, '33:50'), { uid: 33, gid: 50, additionalGids: [], home: '/var/www' });
    await assert.rejects(resolveUser(root, 'web:nogroup'), /unable to find group nogroup/);
  });

  it('treats an empty user as root even without a passwd file', async () => {
    const bare = join(tmp, 'bare');
    mkdirSync(bare);
    assert.deepEqual(await resolveUser(bare, ''), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
  });
});

describe('OCI config', () => {
  const base: ProcessSpec = { args: ['true'], env: ['A=1'], cwd: '/', network: 'none' };
  const input = (spec: ProcessSpec) => ({
    spec, user: { uid: 0, gid: 0, additionalGids: [], home: '/root' }, rootfs: '/r', mounts: [],
    etcFiles: { hosts: '/b/hosts', resolvConf: '/b/resolv.conf', hostname: '/b/hostname' }, cgroupsPath: '/x',
  });
  type Cfg = { linux: { namespaces: { type: string }[]; maskedPaths: string[] }; process: { env: string[]; noNewPrivileges: boolean; capabilities: { bounding: string[] } }; mounts: { destination: string; type: string }[] };

  it('isolates the network unless host is asked, and adds default PATH and HOME', () => {
    const none = buildOciConfig(input(base)) as unknown as Cfg;
    assert.ok(none.linux.namespaces.some((n) => n.type === 'network'));
    assert.deepEqual(none.linux.namespaces.map((n) => n.type).sort(), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
    const host = buildOciConfig(input({ ...base, network: 'host' })) as unknown as Cfg;
    assert.ok(!host.linux.namespaces.some((n) => n.type === 'network'));
    assert.equal(host.mounts.find((m) => m.destination === '/sys')!.type, 'bind');
    assert.deepEqual(none.process.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'HOME=/root']);
    assert.equal(none.process.noNewPrivileges, true);
    assert.ok(!none.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
    assert.ok(none.linux.maskedPaths.includes('/proc/kcore'));
    assert.deepEqual(none.mounts.filter((m) => m.destination.startsWith('/etc/')).map((m) => m.destination),
      ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname']);
  });
});
