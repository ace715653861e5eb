import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createOciExecutor, type ProcessSpec } from '../../src/runtime/index.js';
import { detectOciRuntime, onPath, type OciExecutor } from '../../src/runtime/oci-executor.js';
import { isUserError } from '../../src/util/index.js';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';

describe('OCI executor (real runc, busybox rootfs)', () => {
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
    executor = await createOciExecutor({ stateDir, resolvConf: 'nameserver 192.0.2.53\n' });
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function run(script: string, extra: Partial<ProcessSpec> = {}, signal?: AbortSignal) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const spec: ProcessSpec = { args: ['/bin/sh', '-c', script], env: [], cwd: '/', network: 'none', ...extra };
    const status = await executor.run(spec, rootfs, [], { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) }, signal);
    return { ...status, stdout, stderr };
  }

  it('uses runc when crun refuses hybrid cgroups', async () => {
    const mounts = readFileSync('/proc/mounts', 'utf8');
    const hybrid = / \/sys\/fs\/cgroup\/unified cgroup2 /.test(mounts) && / cgroup .*memory/.test(mounts);
    const chosen = await detectOciRuntime(stateDir);
    assert.equal(executor.runtime, chosen);
    if (hybrid) assert.equal(chosen, 'runc');
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

  it("with network 'none' has only loopback", async () => {
    const r = await run("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
    assert.deepEqual(r.stdout, ['lo']);
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
    assert.deepEqual(readdirSync(join(stateDir, executor.runtime)), [], 'runtime state remains');
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
      mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
      linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] },
    }));
    const created = spawnSync('runc', ['--root', join(stateDir, executor.runtime), 'create', '--bundle', bundle, id], { stdio: 'ignore' });
    assert.equal(created.status, 0);
    assert.deepEqual(readdirSync(join(stateDir, executor.runtime)), [id]);
    await executor.cleanupStale();
    assert.deepEqual(readdirSync(join(stateDir, executor.runtime)), []);
    assert.deepEqual(readdirSync(join(stateDir, 'bundles')), []);
    // runc's own mount point stubs for this hand-made container (not the executor's)
    for (const stub of ['proc', 'dev']) rmSync(join(rootfs, stub), { recursive: true, force: true });
  });

  it('leaves no mount-point stubs (proc, dev, sys, /etc files) in the rootfs', () => {
    assert.deepEqual(readdirSync(rootfs).sort(), rootfsListing.concat(existsSync(join(rootfs, 'work')) ? ['work'] : []).sort());
    assert.deepEqual(readdirSync(join(rootfs, 'etc')).sort(), ['group', 'passwd']);
  });
});
