/**
 * wharf's own container launcher (native/wharf_container.c) against a hostile rootfs: every mount
 * point, stub and working directory is resolved inside the root (symlinks with absolute or `..`
 * targets stay in it), a container it cannot set up is refused clearly with nothing left behind,
 * its container dies with it, and a step reaches nothing of the server its launcher is forked from.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { createOciExecutor, type ProcessSpec } from '../../src/runtime/index.js';
import type { OciExecutor } from '../../src/runtime/oci-executor.js';
import { isUserError, nativeAddon, nativeContainer, setNativeAddon, setNativeLauncher, type NativeAddon } from '../../src/util/index.js';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';

const builtLauncher = fileURLToPath(new URL('../../native/wharf-launch', import.meta.url));
if (existsSync(builtLauncher)) setNativeLauncher(builtLauncher);
// The launch server starts as the CLI starts it: through the addon's posix_spawn (util/piped-child.ts).
const addonPath = fileURLToPath(new URL('../../native/wharf_native.node', import.meta.url));
setNativeAddon(() => createRequire(addonPath)(addonPath) as NativeAddon);

describe("wharf's own container launcher: a hostile rootfs", () => {
  let tmp: string;
  let rootfs: string;
  let outside: string;
  let own: OciExecutor;

  before(async () => {
    requireRoot();
    assert.ok(nativeContainer(), 'the build made dist/native/wharf-container');
    assert.ok(nativeAddon()?.spawnPiped, 'the build made the addon, with spawnPiped');
    tmp = mkdtempSync(join(tmpdir(), 'wharf-own-launcher-'));
    rootfs = join(tmp, 'rootfs');
    outside = join(tmp, 'outside');
    mkdirSync(outside);
    makeBusyboxRootfs(rootfs);
    own = await createOciExecutor({ stateDir: join(tmp, 'state'), resolvConf: 'nameserver 192.0.2.1\n', runtime: 'wharf' });
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function run(script: string, extra: Partial<ProcessSpec> = {}, mounts: Parameters<OciExecutor['run']>[2] = []) {
    const out: string[] = [];
    const spec: ProcessSpec = { args: ['/bin/sh', '-c', script], env: [], cwd: '/', network: 'none', ...extra };
    const status = await own.run(spec, rootfs, mounts, { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
    return { ...status, out };
  }

  it('follows symlinks of mount points and the working directory inside the root, never out of it', async () => {
    // Absolute and `..` targets that name a host dir: resolved in the root, they name dirs of the rootfs.
    symlinkSync(outside, join(rootfs, 'mnt'));
    symlinkSync(`../../../../../../../..${outside}`, join(rootfs, 'work'));
    const shared = join(tmp, 'shared');
    mkdirSync(shared);
    writeFileSync(join(shared, 'data'), 'bound\n');
    try {
      const r = await run('cat /mnt/sub/data; pwd; ls -d /' + outside.slice(1) + '/sub', { cwd: '/work/deeper' },
        [{ type: 'bind', source: shared, destination: '/mnt/sub', readonly: true }]);
      assert.equal(r.exitCode, 0, r.out.join('\n'));
      // pwd prints the physical path: the link's target as the root sees it.
      assert.deepEqual(r.out, ['bound', outside + '/deeper', outside + '/sub']);
      assert.deepEqual(readdirSync(outside), [], 'nothing was made in the host dir the links name');
      // Made where the links lead inside the root, as runc makes them.
      assert.ok(lstatSync(join(rootfs, outside.slice(1), 'deeper')).isDirectory());
    } finally {
      rmSync(join(rootfs, 'mnt'));
      rmSync(join(rootfs, 'work'));
      rmSync(join(rootfs, 'tmp'), { recursive: true, force: true });
    }
  });

  it('binds /etc/hosts where a symlink in the image points, inside the root, and leaves the host file alone', async () => {
    const hostFile = join(outside, 'hosts');
    writeFileSync(hostFile, 'host original\n');
    mkdirSync(join(rootfs, outside.slice(1)), { recursive: true });
    writeFileSync(join(rootfs, outside.slice(1), 'hosts'), 'image copy\n');
    symlinkSync(hostFile, join(rootfs, 'etc', 'hosts'));
    try {
      const r = await run('grep -c localhost /etc/hosts; echo changed > /etc/hosts 2>/dev/null; cat /etc/resolv.conf');
      assert.deepEqual(r.out, ['2', 'nameserver 192.0.2.1']);
      assert.equal(readFileSync(hostFile, 'utf8'), 'host original\n');
      assert.equal(readFileSync(join(rootfs, outside.slice(1), 'hosts'), 'utf8'), 'image copy\n', 'the image file under the bind is untouched');
    } finally {
      rmSync(join(rootfs, 'etc', 'hosts'));
      rmSync(join(rootfs, 'tmp'), { recursive: true, force: true });
    }
  });

  it('refuses a mount point it cannot use (/proc a regular file) with a clear error, and leaves nothing behind', async () => {
    writeFileSync(join(rootfs, 'proc'), 'not a dir');
    try {
      await assert.rejects(run('echo never'), (e) => isUserError(e) && e.code === 'runtime.wharf-unusable' &&
        /mount on \/proc: Not a directory/.test(e.message) && /--runtime crun/.test(e.hint ?? ''));
      assert.deepEqual(readdirSync(join(tmp, 'state', 'bundles')), [], 'no bundle is left');
      assert.ok(!readFileSync('/proc/mounts', 'utf8').includes(tmp), 'no mount is left');
    } finally {
      rmSync(join(rootfs, 'proc'));
    }
  });

  it('auto runs on crun from the step its launcher could not set up, and for the rest of the build', async () => {
    // A launcher that fails as one does on a kernel without what it needs: before the step's program ran.
    const fake = join(tmp, 'fake-native');
    mkdirSync(fake);
    symlinkSync(builtLauncher, join(fake, 'wharf-launch'));
    // It serves as the real one does (launch-server.ts): each run fails before the step's program.
    writeFileSync(join(fake, 'wharf-container'), [
      '#!/bin/sh',
      'msg="wharf-container: openat2: Function not implemented"',
      'while read -r verb id plan; do',
      '  [ "$verb" = run ] || continue',
      '  echo "$msg" > "$plan.failed"',
      '  printf "err %s %d\\n%s\\nexit %s 125\\n" "$id" $((${#msg} + 1)) "$msg" "$id"',
      'done',
      '',
    ].join('\n'), { mode: 0o755 });
    setNativeLauncher(join(fake, 'wharf-launch'));
    const auto = await createOciExecutor({ stateDir: join(tmp, 'state-auto'), resolvConf: '', runtime: 'auto' });
    try {
      assert.equal(auto.runtime, 'wharf');
      for (const n of [1, 2]) {
        const out: string[] = [];
        const status = await auto.run({ args: ['/bin/sh', '-c', `echo ran ${n}`], env: [], cwd: '/', network: 'none' }, rootfs, [], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
        assert.equal(status.exitCode, 0, out.join('\n'));
        assert.deepEqual(out.filter((l) => !l.startsWith('wharf-container:')), [`ran ${n}`], 'the step ran once, on crun');
        assert.equal(auto.runtime, 'crun');
      }
    } finally {
      setNativeLauncher(builtLauncher);
      await auto.close();
    }
  });

  const childrenOf = (pid: number): number[] => {
    try {
      return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const running = (marker: string): boolean => {
    try {
      execFileSync('pgrep', ['-f', `^${marker}$`]);
      return true;
    } catch {
      return false;
    }
  };
  /** The launch server (wharf's child) and the launcher it forked for the step running `marker`. */
  async function serverAndLauncher(marker: string): Promise<{ server: number; launcher: number }> {
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const server = Number(execFileSync('pgrep', ['-P', String(process.pid), '-f', 'wharf-container --serve'], { encoding: 'utf8' }).trim().split('\n')[0]);
      const launcher = childrenOf(server)[0];
      if (launcher && running(marker)) return { server, launcher };
    }
    throw new Error('the step did not start');
  }
  async function goneSoon(marker: string): Promise<boolean> {
    for (let i = 0; i < 50 && running(marker); i++) await new Promise((r) => setTimeout(r, 20));
    return !running(marker);
  }

  it('its container dies with it: a launcher killed with SIGKILL takes the step down', async () => {
    const marker = `sleep ${900000 + Math.floor(Math.random() * 99999)}`;
    const step = run(`exec ${marker}`);
    const { launcher } = await serverAndLauncher(marker);
    process.kill(launcher, 'SIGKILL');
    const r = await step;
    assert.equal(r.exitCode, 137);
    assert.ok(await goneSoon(marker), 'the step outlived its launcher');
  });

  it('the launch server killed: its steps fail with a clear error, their containers die, the next step gets a new server', async () => {
    const marker = `sleep ${900000 + Math.floor(Math.random() * 99999)}`;
    const step = run(`exec ${marker}`);
    const { server } = await serverAndLauncher(marker);
    process.kill(server, 'SIGKILL');
    await assert.rejects(step, (e: unknown) => isUserError(e) && e.code === 'runtime.launcher-gone' && /SIGKILL/.test(e.message));
    assert.ok(await goneSoon(marker), 'the step outlived the server');
    const next = await run('echo again');
    assert.equal(next.exitCode, 0, next.out.join('\n'));
    assert.deepEqual(next.out, ['again']);
  });

  it("a step sees none of the launch server's descriptors (its command pipe above all)", async () => {
    const r = await run('ls /proc/self/fd');
    assert.equal(r.exitCode, 0, r.out.join('\n'));
    assert.deepEqual(r.out.sort(), ['0', '1', '2', '3'], "stdin, stdout, stderr and ls's own directory");
  });

  it('a step inherits no signal the launch server ignores or blocks (SIGPIPE ends a pipeline as usual)', async () => {
    const r = await run('grep -E "^Sig(Ign|Blk)" /proc/self/status; yes | head -n 1');
    assert.equal(r.exitCode, 0, r.out.join('\n'));
    assert.deepEqual(r.out, ['SigBlk:\t0000000000000000', 'SigIgn:\t0000000000000000', 'y']);
  });
});
