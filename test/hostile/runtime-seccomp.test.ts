/**
 * RUN steps run under Docker's default seccomp profile: the kernel reports a filter, and the
 * syscalls the profile leaves out (unshare for namespaces, the keyring calls) fail with EPERM,
 * while what a package manager does (users, archives, owners, devices) still works. The filter is
 * generated per container from the profile's capability, arch and kernel conditions.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOciExecutor, type ProcessSpec } from '../../src/runtime/index.js';
import { DEFAULT_CAPABILITIES } from '../../src/runtime/oci-config.js';
import { seccompConfig } from '../../src/runtime/seccomp.js';
import type { OciExecutor } from '../../src/runtime/oci-executor.js';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';

interface Rule { names: string[]; action: string; errnoRet?: number; args?: { index: number; value: number; op: string }[] }
const rulesFor = (caps: readonly string[], nodeArch = 'x64', kernelRelease = '6.1.0') =>
  seccompConfig({ capabilities: caps, nodeArch, kernelRelease }) as { defaultAction: string; defaultErrnoRet: number; architectures?: string[]; syscalls: Rule[] };
const allowed = (rules: Rule[], name: string) => rules.filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(name));

describe('seccomp profile generation (moby default.json semantics)', () => {
  it('denies by default with EPERM and lists x86_64 with its sub-architectures', () => {
    const p = rulesFor(DEFAULT_CAPABILITIES);
    assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(p.defaultErrnoRet, 1);
    assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.deepEqual(rulesFor(DEFAULT_CAPABILITIES, 'arm64').architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  });

  it('leaves out the calls that need capabilities Docker does not give', () => {
    const { syscalls } = rulesFor(DEFAULT_CAPABILITIES);
    for (const name of ['unshare', 'mount', 'setns', 'add_key', 'keyctl', 'request_key', 'bpf', 'kcmp', 'reboot', 'init_module']) {
      assert.deepEqual(allowed(syscalls, name), [], `${name} must not be allowed`);
    }
    // chroot comes with CAP_SYS_CHROOT, which Docker gives.
    assert.equal(allowed(syscalls, 'chroot').length, 1);
    // clone only without namespace flags; clone3 answers ENOSYS so libc falls back to clone.
    assert.deepEqual(allowed(syscalls, 'clone').map((r) => r.args), [[{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]]);
    assert.deepEqual(syscalls.filter((r) => r.names.includes('clone3')).map((r) => [r.action, r.errnoRet]), [['SCMP_ACT_ERRNO', 38]]);
    assert.deepEqual(allowed(syscalls, 'socket').map((r) => r.args), [[{ index: 0, value: 40, valueTwo: 0, op: 'SCMP_CMP_NE' }]]);
    assert.equal(allowed(syscalls, 'personality').length, 5);
  });

  it('adds the capability-conditional rules when the capability is there', () => {
    const { syscalls } = rulesFor([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']);
    assert.equal(allowed(syscalls, 'unshare').length, 1);
    assert.ok(allowed(syscalls, 'clone').some((r) => !r.args), 'clone without argument checks');
    assert.deepEqual(syscalls.filter((r) => r.names.includes('clone3') && r.action !== 'SCMP_ACT_ALLOW'), []);
    assert.ok(allowed(syscalls, 'kcmp').length === 1);
  });

  it('applies arch and minimum-kernel conditions', () => {
    assert.equal(allowed(rulesFor(DEFAULT_CAPABILITIES, 'x64').syscalls, 'arch_prctl').length, 1);
    assert.equal(allowed(rulesFor(DEFAULT_CAPABILITIES, 'arm64').syscalls, 'arch_prctl').length, 0);
    assert.equal(allowed(rulesFor(DEFAULT_CAPABILITIES, 'arm64').syscalls, 'set_tls').length, 1);
    assert.equal(allowed(rulesFor(DEFAULT_CAPABILITIES, 'x64', '6.1.0').syscalls, 'ptrace').length, 1);
    assert.equal(allowed(rulesFor(DEFAULT_CAPABILITIES, 'x64', '4.4.0-generic').syscalls, 'ptrace').length, 0);
  });
});

/** A static program that calls add_key and keyctl directly and prints each errno. */
const KEYRING_PROGRAM = `
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
  errno = 0;
  long r = syscall(SYS_add_key, "user", "wharf-test", "secret", 6L, -2L /* KEY_SPEC_PROCESS_KEYRING */);
  printf("add_key %ld %d\\n", r, errno);
  errno = 0;
  r = syscall(SYS_keyctl, 0L /* KEYCTL_GET_KEYRING_ID */, -3L /* KEY_SPEC_SESSION_KEYRING */, 0L, 0L, 0L);
  printf("keyctl %ld %d\\n", r, errno);
  return 0;
}
`;

describe('seccomp in a real RUN container (runc)', () => {
  let tmp: string;
  let rootfs: string;
  let executor: OciExecutor;

  before(async () => {
    requireRoot();
    tmp = mkdtempSync(join(tmpdir(), 'wharf-seccomp-'));
    rootfs = join(tmp, 'rootfs');
    makeBusyboxRootfs(rootfs);
    writeFileSync(join(tmp, 'keyring.c'), KEYRING_PROGRAM);
    const cc = spawnSync('cc', ['-static', '-O2', '-o', join(rootfs, 'keyring'), join(tmp, 'keyring.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, `cc -static failed (install libc6-dev): ${cc.stderr}`);
    executor = await createOciExecutor({ stateDir: join(tmp, 'state'), resolvConf: '' });
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function run(script: string, extra: Partial<ProcessSpec> = {}) {
    const out: string[] = [];
    const spec: ProcessSpec = { args: ['/bin/sh', '-c', script], env: [], cwd: '/', network: 'none', ...extra };
    const status = await executor.run(spec, rootfs, [], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
    return { ...status, out };
  }

  it('shows a seccomp filter in /proc/self/status', async () => {
    const r = await run('grep -E "^Seccomp(_filters)?:" /proc/self/status');
    assert.equal(r.exitCode, 0, r.out.join('\n'));
    assert.deepEqual(r.out.map((l) => l.replace(/\s+/g, ' ')), ['Seccomp: 2', 'Seccomp_filters: 1']);
  });

  it('refuses unshare -Urm (the way to mount a tmpfs without CAP_SYS_ADMIN)', async () => {
    const r = await run('unshare -Urm mount -t tmpfs none /tmp && echo MOUNTED; echo rc=$?');
    assert.ok(!r.out.includes('MOUNTED'), r.out.join('\n'));
    assert.ok(r.out.some((l) => /Operation not permitted/.test(l)), r.out.join('\n'));
  });

  it('refuses add_key and keyctl with EPERM', async () => {
    const r = await run('/keyring');
    assert.equal(r.exitCode, 0, r.out.join('\n'));
    assert.deepEqual(r.out, ['add_key -1 1', 'keyctl -1 1']);
  });

  it('still does what a package manager does: users, archives, owners, modes, device nodes', async () => {
    const r = await run([
      'set -e',
      'mkdir -p /tmp /home/svc',
      // What useradd does (busybox-static has no adduser applet): append to passwd and group.
      'echo svc:x:4000:4000::/home/svc:/bin/sh >> /etc/passwd && echo svc:x:4000: >> /etc/group',
      'mkdir -p /opt/pkg/bin && echo payload > /opt/pkg/bin/tool',
      'tar -C /opt -czf /tmp/pkg.tgz pkg && rm -rf /opt/pkg && tar -C /opt -xzf /tmp/pkg.tgz',
      'chown -R svc:svc /opt/pkg && chmod 4755 /opt/pkg/bin/tool && ln -s tool /opt/pkg/bin/alias',
      'mknod /tmp/null c 1 3 && mkfifo /tmp/fifo',
      'wget -h 2>&1 | head -1 >/dev/null; sh -c "exit 0" & wait',
      'su svc -s /bin/sh -c "id -u" ',
      'stat -c "%U:%G %a" /opt/pkg/bin/tool; cat /opt/pkg/bin/alias',
    ].join('\n'));
    assert.equal(r.exitCode, 0, r.out.join('\n'));
    assert.deepEqual(r.out.slice(-3), ['4000', 'svc:svc 4755', 'payload']);
  });

  it('has no filter under --security=insecure (all of wharf capabilities, as BuildKit)', async () => {
    const r = await run('grep -E "^Seccomp:" /proc/self/status; unshare -m true && echo UNSHARED', { security: 'insecure' });
    assert.equal(r.exitCode, 0, r.out.join('\n'));
    assert.deepEqual(r.out.map((l) => l.replace(/\s+/g, ' ')), ['Seccomp: 0', 'UNSHARED']);
  });
});
