import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createOciExecutor, removeLeftoverCgroups, type ProcessSpec } from '../../src/runtime/index.js';
import { detectOciRuntime, onPath, type OciExecutor } from '../../src/runtime/oci-executor.js';
import { launchCommand } from '../../src/runtime/launcher.js';
import { hostCgroupMode } from '../../src/runtime/cgroups.js';
import { precompiledSeccomp } from '../../src/runtime/seccomp-cache.js';
import { seccompConfig } from '../../src/runtime/seccomp.js';
import { DEFAULT_CAPABILITIES } from '../../src/runtime/oci-config.js';
import { release } from 'node:os';
import { isUserError, nativeContainer, nativeLauncher, setNativeLauncher } from '../../src/util/index.js';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';

// As the CLI runs: crun through the launcher the build compiled.
const builtLauncher = fileURLToPath(new URL('../../native/wharf-launch', import.meta.url));
if (existsSync(builtLauncher)) setNativeLauncher(builtLauncher);
const crunInstalled = onPath('crun', process.env['PATH'] ?? '');

/** The OCI runtime whose state dir an executor uses (wharf's own launcher: crun's, for its seccomp compilations). */
function ociOf(executor: OciExecutor): 'crun' | 'runc' {
  return executor.runtime === 'wharf' ? 'crun' : executor.runtime;
}

/** cgroup dirs wharf made for crun's steps (named after this process). */
function ownCgroupDirs(): string[] {
  return ['pids', 'memory', 'devices'].flatMap((c) => {
    try {
      return readdirSync(`/sys/fs/cgroup/${c}`).filter((n) => n.startsWith(`wharf-${process.pid}-`));
    } catch {
      return [];
    }
  });
}

const TITLES = { auto: "auto: wharf's own launcher where it works", crun: 'crun', runc: 'runc' } as const;
for (const want of ['auto', 'crun', 'runc'] as const) describe(`executor of RUN steps (real ${TITLES[want]}, busybox rootfs)`, () => {
  let tmp: string;
  let rootfs: string;
  let stateDir: string;
  let executor: OciExecutor;
  let rootfsListing: string[];

  before(async () => {
    requireRoot();
    tmp = mkdtempSync(join(tmpdir(), 'wharf-runtime-'));
    rootfs = join(tmp, 'rootfs');
    stateDir = join(tmp, 'state');
    makeBusyboxRootfs(rootfs);
    rootfsListing = readdirSync(rootfs).sort();
    executor = await createOciExecutor({ stateDir, resolvConf: 'nameserver 192.0.2.53\n', runtime: want });
  });
  after(async () => {
    await executor?.close(); // the cgroups it kept for its next step go
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function run(script: string, extra: Partial<ProcessSpec> = {}, signal?: AbortSignal) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const spec: ProcessSpec = { args: ['/bin/sh', '-c', script], env: [], cwd: '/', network: 'none', ...extra };
    const status = await executor.run(spec, rootfs, [], { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) }, signal);
    return { ...status, stdout, stderr };
  }

  it("auto picks wharf's own launcher where crun works through the launcher and the build made it; crun or runc when asked", async () => {
    const chosen = await detectOciRuntime(stateDir);
    if (want !== 'auto') assert.equal(executor.runtime, want);
    else if (chosen === 'crun' && hostCgroupMode() === 'legacy' && nativeContainer()) assert.equal(executor.runtime, 'wharf');
    else assert.equal(executor.runtime, chosen);
    if (crunInstalled) assert.equal(chosen, 'crun');
  });

  it('keeps /sys/fs/cgroup read-only and shows the step its own cgroup (limits) only', async () => {
    const r = await run('touch /sys/fs/cgroup/x 2>&1; (echo 1 > /sys/fs/cgroup/pids/pids.max) 2>&1; cat /sys/fs/cgroup/pids/pids.max; ls /sys/fs/cgroup/pids | grep -c wharf',
      { limits: { pids: 77 } });
    assert.match(r.stdout[0] ?? '', /Read-only file system/);
    assert.match(r.stdout[1] ?? '', /Read-only file system/);
    assert.deepEqual(r.stdout.slice(2), ['77', '0']);
  });

  it("denies device nodes outside Docker's list (the device cgroup), though mknod itself is allowed", async () => {
    // The host's root file system's device: readable without the device cgroup (root, CAP_DAC_OVERRIDE).
    const dev = /^\d+ \d+ (\d+):(\d+) \/ \/ /m.exec(readFileSync('/proc/self/mountinfo', 'utf8'));
    const [major, minor] = dev ? [dev[1], dev[2]] : ['8', '0'];
    const r = await run(`mknod /disk b ${major} ${minor} && echo made; head -c 1 /disk > /dev/null 2>/dev/null && echo read || echo refused; rm -f /disk; head -c 1 /dev/zero | wc -c`);
    assert.deepEqual(r.stdout, ['made', 'refused', '1'], r.stderr.join('\n'));
  });

  it('crun and wharf: once the profile is compiled on the side, later steps carry the filter, and it still confines them', async () => {
    if (executor.runtime === 'runc') return assert.equal(want, 'runc');
    const key = JSON.stringify(seccompConfig({ capabilities: DEFAULT_CAPABILITIES, nodeArch: process.arch, kernelRelease: release() }));
    // The first step with the profile compiles it on the side and returns once that is over.
    await run('true');
    const { bpf, compiling } = precompiledSeccomp(key, async () => undefined);
    assert.equal(compiling, undefined, 'compiled once per process');
    assert.deepEqual(readdirSync(join(stateDir, 'crun')), [], 'no container of the compilation is left');
    assert.ok(bpf && Buffer.from(bpf, 'base64').length % 8 === 0, 'the profile was compiled');
    // Blocked by Docker's profile without CAP_SYS_ADMIN: unshare(CLONE_NEWUSER), and keyctl.
    const r = await run("grep '^Seccomp:' /proc/self/status; unshare -U true 2>&1; echo rc=$?");
    assert.equal(r.stdout[0], 'Seccomp:\t2');
    assert.match(r.stdout[1] ?? '', /Operation not permitted/);
    assert.equal(r.stdout.at(-1), 'rc=1');
  });

  it('removes the cgroup dirs it made for a step with a memory limit', async () => {
    const before = ownCgroupDirs().sort(); // kept ones of earlier steps without one
    await run('true', { limits: { pids: 10, memoryBytes: 64 << 20 } });
    assert.deepEqual(ownCgroupDirs().sort(), before);
  });

  it("hands a step's cgroups to its next step with the same limits (not with a memory limit), and removes them when closed", async () => {
    if (want === 'runc') return; // runc makes its own cgroups
    const own = await createOciExecutor({ stateDir: join(tmp, 'state-pool'), runtime: want });
    const before = new Set(ownCgroupDirs()); // the shared executor's kept ones
    const added = () => ownCgroupDirs().filter((d) => !before.has(d)).sort();
    const step = async (limits: ProcessSpec['limits']) => {
      const status = await own.run({ args: ['/bin/sh', '-c', 'true'], env: [], cwd: '/', network: 'none', ...(limits ? { limits } : {}) }, rootfs, [], {});
      assert.equal(status.exitCode, 0);
    };
    try {
      await step({ pids: 50 });
      const first = added();
      assert.equal(first.length, 3, 'pids, memory and devices, kept after the step');
      await step({ pids: 50 });
      assert.deepEqual(added(), first, 'the same cgroups, taken again');
      await step({ pids: 60 });
      assert.equal(added().length, 6, 'other limits, other cgroups');
      await step({ pids: 50, memoryBytes: 64 << 20 });
      assert.equal(added().length, 6, 'a memory limit gets fresh cgroups, removed after the step');
    } finally {
      await own.close();
    }
    assert.deepEqual(added(), [], 'close removes the kept ones');
  });

  it('looks crun up on the PATH it is given before probing it, and takes runc when it is not there', async () => {
    const bin = join(stateDir, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    assert.equal(onPath('crun', bin), false);
    assert.equal(await detectOciRuntime(stateDir, bin), 'runc');
    writeFileSync(join(bin, 'crun'), '#!/bin/sh\n', { mode: 0o755 });
    assert.equal(onPath('crun', `/nonexistent:${bin}`), true);
    writeFileSync(join(bin, 'notexec'), '', { mode: 0o644 });
    assert.equal(onPath('notexec', bin), false, 'a file that is not executable does not count');
  });

  it('gives the step its own PID namespace: PID 1 is the step, no host processes', async () => {
    const r = await run('echo self=$$; ps -o pid,comm');
    assert.equal(r.exitCode, 0, r.stderr.join('\n'));
    assert.equal(r.stdout[0], 'self=1');
    const pids = r.stdout.slice(2).map((l) => Number(l.trim().split(/\s+/)[0]));
    assert.ok(pids.includes(1));
    assert.ok(pids.length <= 2, `unexpected processes: ${r.stdout.join('\n')}`);
    assert.ok(!r.stdout.some((l) => /\bnode\b/.test(l)));
  });

  it('sets the container hostname and the generated /etc files', async () => {
    const r = await run('hostname; cat /etc/hostname; grep -c wharf-test-host /etc/hosts; cat /etc/resolv.conf', { hostname: 'wharf-test-host' });
    assert.deepEqual(r.stdout, ['wharf-test-host', 'wharf-test-host', '1', 'nameserver 192.0.2.53']);
  });

  it('cannot reach a host file', async () => {
    const sentinel = join(tmp, `sentinel-${randomBytes(4).toString('hex')}`);
    writeFileSync(sentinel, 'host secret');
    const r = await run(`cat ${sentinel} 2>/dev/null && echo visible || echo hidden`);
    assert.deepEqual(r.stdout, ['hidden']);
  });

  it('drops CAP_SYS_ADMIN but keeps Docker defaults such as CAP_CHOWN', async () => {
    const r = await run('grep CapEff /proc/self/status');
    const hex = r.stdout[0]!.split(/\s+/)[1]!;
    const caps = BigInt('0x' + hex);
    assert.equal((caps >> 21n) & 1n, 0n, 'CAP_SYS_ADMIN (bit 21) must be absent');
    assert.equal(caps & 1n, 1n, 'CAP_CHOWN (bit 0) must be present');
  });

  it('makes /proc/sys read-only', async () => {
    const r = await run('echo changed > /proc/sys/kernel/hostname 2>/dev/null && echo wrote || echo refused; hostname');
    assert.deepEqual(r.stdout, ['refused', 'wharf']);
  });

  it("with network 'none' has only loopback, up, in a namespace of its own", async () => {
    const r = await run("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; cat /sys/class/net/lo/flags; readlink /proc/self/ns/net");
    assert.equal(r.stdout[0], 'lo');
    assert.equal(Number(r.stdout[1]) & 1, 1, `lo is up (IFF_UP): ${r.stdout[1]}`);
    assert.notEqual(r.stdout[2], readlinkSync('/proc/self/ns/net'));
  });

  it("with network 'host' sees the host's interfaces", async () => {
    const host = readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean);
    const r = await run("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '", { network: 'host' });
    assert.deepEqual(r.stdout.sort(), host.sort());
  });

  it('resolves user names from the rootfs passwd and group files', async () => {
    const byName = await run('id -u; id -g; id -G; echo $HOME', { user: 'app' });
    assert.deepEqual(byName.stdout.slice(0, 2), ['1234', '2345']);
    assert.ok(byName.stdout[2]!.split(' ').includes('3000'), byName.stdout[2]);
    assert.equal(byName.stdout[3], '/home/app');
    const withGroup = await run('id -u; id -g', { user: 'app:extra' });
    assert.deepEqual(withGroup.stdout, ['1234', '3000']);
    const numeric = await run('id -u; id -g', { user: '4321' });
    assert.deepEqual(numeric.stdout, ['4321', '0']);
    await assert.rejects(run('true', { user: 'nobody-here' }), (e) => isUserError(e) && e.code === 'runtime.user-unknown');
  });

  it('adds bind (read-only) and tmpfs mounts and removes their mount points afterwards', async () => {
    const shared = join(tmp, 'shared-dir');
    mkdirSync(shared);
    writeFileSync(join(shared, 'data'), 'from host\n');
    const out: string[] = [];
    const status = await executor.run(
      { args: ['/bin/sh', '-c', 'cat /mnt/src/data; echo x > /mnt/src/new 2>/dev/null && echo writable || echo read-only; echo t > /scratch/t && cat /scratch/t'], env: [], cwd: '/', network: 'none' },
      rootfs,
      [{ type: 'bind', source: shared, destination: '/mnt/src', readonly: true }, { type: 'tmpfs', destination: '/scratch' }],
      { stdout: (l) => out.push(l) });
    assert.equal(status.exitCode, 0);
    assert.deepEqual(out, ['from host', 'read-only', 't']);
    assert.equal(existsSync(join(rootfs, 'mnt')), false);
    assert.equal(existsSync(join(rootfs, 'scratch')), false);
  });

  it('applies env and cwd', async () => {
    const r = await run('echo "$FOO|$BAR"; pwd', { env: ['FOO=bar baz', 'BAR=2'], cwd: '/work/dir' });
    assert.deepEqual(r.stdout, ['bar baz|2', '/work/dir']);
  });

  it('streams output line by line as it comes and returns the exit code', async () => {
    const seen: { line: string; at: number }[] = [];
    const errs: string[] = [];
    const start = Date.now();
    const status = await executor.run(
      { args: ['/bin/sh', '-c', 'echo one; echo oops >&2; sleep 0.5; echo two; exit 3'], env: [], cwd: '/', network: 'none' },
      rootfs, [], { stdout: (line) => seen.push({ line, at: Date.now() - start }), stderr: (l) => errs.push(l) });
    const end = Date.now() - start;
    assert.equal(status.exitCode, 3);
    assert.deepEqual(seen.map((s) => s.line), ['one', 'two']);
    assert.deepEqual(errs, ['oops']);
    assert.ok(seen[0]!.at < end - 300, `first line came at ${seen[0]!.at} ms of ${end} ms: not streamed`);
  });

  it('reports a missing executable as a failed exit with the reason', async () => {
    const errs: string[] = [];
    const status = await executor.run({ args: ['/no/such/program'], env: [], cwd: '/', network: 'none' }, rootfs, [],
      { stderr: (l) => errs.push(l) });
    assert.notEqual(status.exitCode, 0);
    assert.ok(errs.some((l) => l.includes('/no/such/program')), errs.join('\n'));
  });

  it('applies pids and memory limits', async () => {
    const r = await run('cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; for i in 1 2 3 4 5 6; do sleep 1 & done; wait; echo done',
      { limits: { pids: 4, memoryBytes: 64 << 20 } });
    assert.equal(r.stdout[0], String(64 << 20));
    assert.ok(r.stderr.some((l) => /can't fork|Resource temporarily unavailable/i.test(l)), `no fork failure with pids=4: ${r.stderr.join('\n')}`);
  });

  it('an abort kills a hanging step promptly and leaves nothing behind', async () => {
    const ac = new AbortController();
    const start = Date.now();
    setTimeout(() => ac.abort(new Error('test cancel')), 300);
    await assert.rejects(run('sleep 1000', {}, ac.signal), (e) => isUserError(e) && e.code === 'runtime.aborted');
    assert.ok(Date.now() - start < 5000, `abort took ${Date.now() - start} ms`);
    assert.ok(!readFileSync('/proc/mounts', 'utf8').includes(tmp), 'a mount under the test dir remains');
    assert.deepEqual(readdirSync(join(stateDir, ociOf(executor))), [], 'runtime state remains');
    assert.deepEqual(readdirSync(join(stateDir, 'bundles')), [], 'a bundle remains');
  });

  it('cleanupStale removes containers and bundles a killed wharf left behind', async () => {
    const id = 'wharf-stale-test';
    const bundle = join(stateDir, 'bundles', id);
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify({
      ociVersion: '1.0.2',
      process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/bin/sleep', '1000'], cwd: '/' },
      root: { path: rootfs },
      mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/dev', type: 'tmpfs', source: 'tmpfs' }],
      linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] },
    }));
    // wharf's own launcher keeps no state: what it sweeps are crun's containers (its seccomp compilations).
    const oci = ociOf(executor);
    const rootDir = join(stateDir, oci);
    const [program, ...args] = oci === 'crun' && hostCgroupMode() === 'legacy'
      ? launchCommand([], ['crun', '--cgroup-manager=disabled', '--root', rootDir, 'create', '--bundle', bundle, id])
      : [oci, '--root', rootDir, 'create', '--bundle', bundle, id];
    const created = spawnSync(program!, args, { stdio: 'ignore' });
    assert.equal(created.status, 0);
    assert.deepEqual(readdirSync(join(stateDir, oci)), [id]);
    await executor.cleanupStale();
    assert.deepEqual(readdirSync(join(stateDir, oci)), []);
    assert.deepEqual(readdirSync(join(stateDir, 'bundles')), []);
    // runc's own mount point stubs for this hand-made container (not the executor's)
    for (const stub of ['proc', 'dev']) rmSync(join(rootfs, stub), { recursive: true, force: true });
  });

  it('leaves no mount-point stubs (proc, dev, sys, /etc files) in the rootfs', () => {
    assert.deepEqual(readdirSync(rootfs).sort(), rootfsListing.concat(existsSync(join(rootfs, 'work')) ? ['work'] : []).sort());
    assert.deepEqual(readdirSync(join(rootfs, 'etc')).sort(), ['group', 'passwd']);
  });
});

describe('crun on a cgroup v1 host: the launcher without a C compiler, and the sweep of cgroups', () => {
  let tmp: string;
  let rootfs: string;
  before(() => {
    requireRoot();
    tmp = mkdtempSync(join(tmpdir(), 'wharf-launcher-'));
    rootfs = join(tmp, 'rootfs');
    makeBusyboxRootfs(rootfs);
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('runs a step with its limits through unshare and sh when no launcher was built', async () => {
    const built = nativeLauncher();
    setNativeLauncher(undefined);
    try {
      const executor = await createOciExecutor({ stateDir: join(tmp, 'state'), runtime: 'crun' });
      const out: string[] = [];
      const status = await executor.run({ args: ['/bin/sh', '-c', 'cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes; grep -c " /sys/fs/cgroup/unified " /proc/self/mountinfo'], env: [], cwd: '/', network: 'none', limits: { pids: 33, memoryBytes: 48 << 20 } },
        rootfs, [], { stdout: (l) => out.push(l) });
      assert.equal(status.exitCode, 1, 'grep -c finds no cgroup2 mount');
      assert.deepEqual(out, ['33', String(48 << 20), '0']);
      assert.deepEqual(ownCgroupDirs(), [], 'a step with a memory limit: its cgroups are removed after it');
    } finally {
      setNativeLauncher(built);
    }
  });

  it('the launcher runs a program given by path from a sealed in-memory copy (the runtime cannot be written through it)', () => {
    // What a container could reach of the runtime (/proc/<pid>/exe) is a copy sealed against writes,
    // as runc and crun make one themselves (CVE-2019-5736); a bare name is exec'd as it is.
    const script = 'readlink /proc/$$/exe; (echo x >> /proc/$$/exe) 2>/dev/null && echo wrote || echo refused';
    const [program, ...args] = launchCommand([], ['/bin/sh', '-c', script]);
    const sealed = spawnSync(program!, args, { encoding: 'utf8' });
    assert.equal(sealed.status, 0, sealed.stderr);
    assert.deepEqual(sealed.stdout.trim().split('\n'), ['/memfd:wharf-runtime (deleted)', 'refused']);
    const [p2, ...a2] = launchCommand([], ['sh', '-c', 'readlink /proc/$$/exe']);
    const plain = spawnSync(p2!, a2, { encoding: 'utf8' });
    assert.ok(!plain.stdout.includes('memfd'), plain.stdout);
  });

  it("kills what is left in a dead wharf's cgroup dirs and removes them; live owners' dirs stay", async () => {
    // A pid that is surely not running: a child that has exited and been reaped.
    const dead = spawnSync('true').pid!;
    const dirs = ['pids', 'memory', 'devices'].map((c) => `/sys/fs/cgroup/${c}/wharf-${dead}-wharf-sweeptest`);
    const live = `/sys/fs/cgroup/pids/wharf-${process.pid}-wharf-sweeptest`;
    for (const d of [...dirs, live]) mkdirSync(d);
    const sleeper = spawnSync('sh', ['-c', `sleep 300 </dev/null >/dev/null 2>&1 & echo $! > ${dirs[0]}/cgroup.procs; echo $!`], { encoding: 'utf8' });
    const pid = Number(sleeper.stdout.trim());
    try {
      assert.equal(readFileSync(`${dirs[0]}/cgroup.procs`, 'utf8').trim(), String(pid));
      await removeLeftoverCgroups((p) => p !== dead);
      for (const d of dirs) assert.equal(existsSync(d), false, `${d} remains`);
      assert.equal(existsSync(live), true, 'a live wharf keeps its dirs');
      assert.equal(existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'), false, 'the process in it was killed');
    } finally {
      for (const d of [...dirs, live]) {
        try {
          rmdirSync(d);
        } catch {
          // removed by the sweep
        }
      }
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // killed by the sweep
      }
    }
  });
});
