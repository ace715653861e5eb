import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerPlan, PlanUnsupported } from '../../src/runtime/container-plan.js';
import { buildOciConfig, DEFAULT_CAPABILITIES } from '../../src/runtime/oci-config.js';
import type { ProcessSpec } from '../../src/runtime/types.js';
import { isUserError } from '../../src/util/index.js';

const host = { nodeArch: 'x64', kernelRelease: '6.1.0' };
const etcFiles = { hosts: '/b/hosts', resolvConf: '/b/resolv.conf', hostname: '/b/hostname' };
const user = { uid: 1234, gid: 2345, additionalGids: [3000], home: '/home/app' };

function config(extra: Partial<ProcessSpec> = {}) {
  const spec: ProcessSpec = { args: ['sh', '-c', 'echo hi'], env: ['A=1'], cwd: '/w', network: 'none', ...extra };
  return buildOciConfig({ spec, user, rootfs: '/r', mounts: [{ type: 'bind', source: '/cache', destination: '/c', readonly: true }], etcFiles, remountCgroupTmpfs: true, host });
}

/** The plan's directives as arrays of fields. */
function directives(plan: Buffer): string[][] {
  const fields = plan.toString().split('\0');
  assert.equal(fields.pop(), '', 'every field ends with a NUL');
  const arity: Record<string, number> = {
    cgroup: 1, netns: 1, newnet: 0, rootfs: 1, hostname: 1, mount: 6, mask: 1, readonly: 1, rlimit: 3, user: 2, group: 1, caps: 4, nonewprivs: 0, seccomp: 1, cwd: 1,
  };
  const out: string[][] = [];
  for (let i = 0; i < fields.length;) {
    const name = fields[i]!;
    const n = name === 'env' || name === 'args' ? Number(fields[i + 1]) + 1 : arity[name];
    assert.ok(n !== undefined, `unknown directive ${name}`);
    out.push(fields.slice(i, i + 1 + n));
    i += 1 + n;
  }
  return out;
}

test('a sandboxed step: its cgroups, namespaces, mounts as MS_* flags, masks, user, caps, seccomp, cwd, env and args, in order', () => {
  const plan = directives(containerPlan(config({ limits: { ulimits: [{ name: 'nofile', soft: 1024, hard: -1 }] } }), { tasksFiles: ['/sys/fs/cgroup/pids/x/tasks'], seccompFile: '/b/seccomp.bpf' }));
  const names = plan.map((d) => d[0]);
  assert.deepEqual(plan.slice(0, 4), [['cgroup', '/sys/fs/cgroup/pids/x/tasks'], ['newnet'], ['rootfs', '/r'], ['hostname', 'wharf']]);
  const mounts = plan.filter((d) => d[0] === 'mount');
  assert.deepEqual(mounts[0], ['mount', 'proc', '/proc', 'proc', String(2 | 4 | 8), '0', '']);
  assert.deepEqual(mounts[1], ['mount', 'tmpfs', '/dev', 'tmpfs', String(2 | (1 << 24)), '0', 'mode=755,size=65536k']);
  const sys = mounts.find((m) => m[2] === '/sys')!;
  assert.equal(Number(sys[4]) & 1, 1, '/sys is read-only');
  const cgroupRo = mounts.filter((m) => m[2] === '/sys/fs/cgroup');
  assert.equal(cgroupRo.length, 2, 'the cgroup mount and the remount of its tmpfs read-only');
  assert.equal(Number(cgroupRo[1]![4]) & (32 | 1), 32 | 1);
  const hosts = mounts.find((m) => m[2] === '/etc/hosts')!;
  assert.deepEqual(hosts.slice(1, 4), ['/b/hosts', '/etc/hosts', 'bind']);
  assert.equal(Number(hosts[4]), 4096 | 16384 | 2 | 4 | 8, 'rbind, nosuid, nodev, noexec');
  assert.equal(Number(hosts[5]), (1 << 18) | 16384, 'rprivate');
  const cache = mounts.find((m) => m[2] === '/c')!;
  assert.equal(Number(cache[4]) & 1, 1, 'the read-only bind is read-only');
  assert.ok(plan.some((d) => d[0] === 'mask' && d[1] === '/proc/kcore'));
  assert.ok(plan.some((d) => d[0] === 'readonly' && d[1] === '/proc/sys'));
  assert.deepEqual(plan.find((d) => d[0] === 'rlimit'), ['rlimit', 'RLIMIT_NOFILE', '1024', '-1']);
  assert.deepEqual(plan.find((d) => d[0] === 'user'), ['user', '1234', '2345']);
  assert.deepEqual(plan.find((d) => d[0] === 'group'), ['group', '3000']);
  const caps = plan.find((d) => d[0] === 'caps')!;
  const mask = BigInt(`0x${caps[1]}`);
  assert.equal((mask >> 21n) & 1n, 0n, 'no CAP_SYS_ADMIN');
  assert.equal(mask.toString(2).replaceAll('0', '').length, DEFAULT_CAPABILITIES.length);
  assert.deepEqual(caps.slice(2), [caps[1], caps[1], caps[1]]);
  assert.ok(names.includes('nonewprivs'));
  assert.deepEqual(plan.find((d) => d[0] === 'seccomp'), ['seccomp', '/b/seccomp.bpf']);
  assert.deepEqual(plan.slice(-3), [
    ['cwd', '/w'],
    ['env', '3', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'HOME=/home/app'],
    ['args', '3', 'sh', '-c', 'echo hi'],
  ]);
  // Masks and read-only paths come after every mount (the launcher applies them after /dev is complete).
  assert.ok(names.lastIndexOf('mount') < names.indexOf('mask'));
});

test('network modes: a prepared namespace is joined, the host network has no namespace and a read-only bind of /sys', () => {
  const joined = directives(containerPlan(buildOciConfig({ spec: { args: ['true'], env: [], cwd: '/', network: 'default' }, user, rootfs: '/r', mounts: [], etcFiles, netnsPath: '/proc/1/fd/9', host }),
    { tasksFiles: [], seccompFile: '/s' }));
  assert.deepEqual(joined.filter((d) => d[0] === 'netns' || d[0] === 'newnet'), [['netns', '/proc/1/fd/9']]);
  const hostNet = directives(containerPlan(buildOciConfig({ spec: { args: ['true'], env: [], cwd: '/', network: 'host' }, user, rootfs: '/r', mounts: [], etcFiles, host }),
    { tasksFiles: [], seccompFile: '/s' }));
  assert.equal(hostNet.filter((d) => d[0] === 'netns' || d[0] === 'newnet').length, 0);
  const sys = hostNet.find((d) => d[0] === 'mount' && d[2] === '/sys')!;
  assert.deepEqual(sys.slice(1, 4), ['/sys', '/sys', 'bind']);
  assert.equal(Number(sys[4]) & (4096 | 16384 | 1), 4096 | 16384 | 1, 'a recursive, read-only bind');
});

test('an insecure step: every capability it is given, no seccomp, no masks', () => {
  const plan = directives(containerPlan(buildOciConfig({ spec: { args: ['true'], env: [], cwd: '/', network: 'none', security: 'insecure' }, user, rootfs: '/r', mounts: [], etcFiles, hostCapabilities: ['CAP_SYS_ADMIN'], host }),
    { tasksFiles: [] }));
  assert.deepEqual(plan.find((d) => d[0] === 'caps')!.slice(1), ['200000', '200000', '200000', '200000']);
  assert.equal(plan.filter((d) => ['seccomp', 'mask', 'readonly'].includes(d[0]!)).length, 0);
});

test('what the plan cannot say is refused, never dropped', () => {
  const c = config();
  const no = (mutate: (x: Record<string, unknown>) => void, extras: { tasksFiles: string[]; seccompFile?: string } = { tasksFiles: [], seccompFile: '/s' }) => {
    const x = structuredClone(c);
    mutate(x);
    assert.throws(() => containerPlan(x, extras), PlanUnsupported);
  };
  no((x) => ((x['root'] as { readonly: boolean }).readonly = true));
  no((x) => ((x['process'] as { terminal: boolean }).terminal = true));
  no((x) => ((x['linux'] as Record<string, unknown>)['sysctl'] = { 'net.ipv4.ip_forward': '1' }));
  no((x) => ((x['linux'] as { namespaces: unknown[] }).namespaces.push({ type: 'user' })));
  no((x) => ((x['linux'] as { namespaces: { type: string }[] }).namespaces = [{ type: 'mount' }]));
  no((x) => (x['mounts'] as unknown[]).push({ destination: '/x', type: 'nfs', source: 'h:/x' }));
  no((x) => (x['mounts'] as unknown[]).push({ destination: '/x', type: 'bind', source: '/y', options: ['rbind', 'idmap'] }));
  no((x) => ((x['process'] as { capabilities: Record<string, string[]> }).capabilities['ambient'] = ['CAP_CHOWN']));
  no((x) => ((x['process'] as { args: string[] }).args = ['a\0b']));
  no(() => undefined, { tasksFiles: [] }); // a seccomp profile without its compiled filter
  // A user error, with the way out: `--runtime auto` never shows it (the step runs on crun).
  const x = structuredClone(c);
  (x['root'] as { readonly: boolean }).readonly = true;
  assert.throws(() => containerPlan(x, { tasksFiles: [], seccompFile: '/s' }), (e) =>
    isUserError(e) && e.code === 'runtime.plan-unsupported' && /a read-only root/.test(e.message) && /--runtime crun/.test(e.hint ?? ''));
});
