/**
 * The launch server (src/runtime/launch-server.ts, `wharf-container --serve`): RUNs forked from one
 * process keep their output apart and whole, and a server nobody closes never keeps Node alive.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOciExecutor, type ProcessSpec } from '../../src/runtime/index.js';
import { createLazyOciExecutor } from '../../src/runtime/oci-executor.js';
import type { OciExecutor } from '../../src/runtime/oci-executor.js';
import { nativeContainer, setNativeLauncher } from '../../src/util/index.js';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';

// The programs the build made, beside the compiled tests (dist/native).
setNativeLauncher(fileURLToPath(new URL('../../native/wharf-launch', import.meta.url)));

describe('launch server', () => {
  let tmp: string;
  let rootfs: string;
  let own: OciExecutor;

  before(async () => {
    requireRoot();
    assert.ok(nativeContainer(), 'the build made dist/native/wharf-container');
    tmp = mkdtempSync(join(tmpdir(), 'wharf-launch-server-'));
    rootfs = join(tmp, 'rootfs');
    makeBusyboxRootfs(rootfs);
    own = await createOciExecutor({ stateDir: join(tmp, 'state'), resolvConf: '', runtime: 'wharf' });
  });
  after(async () => {
    await own?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function run(script: string, root = rootfs) {
    const out: string[] = [];
    const err: string[] = [];
    const spec: ProcessSpec = { args: ['/bin/sh', '-c', script], env: ['PATH=/bin'], cwd: '/', network: 'none' };
    const status = await own.run(spec, root, [], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
    return { ...status, out, err };
  }

  it('steps at once keep their own output, stdout apart from stderr, in order, and their own exit codes', async () => {
    const script = (tag: string, code: number) =>
      `i=0; while [ $i -lt 200 ]; do echo ${tag}-out-$i; echo ${tag}-err-$i >&2; i=$((i+1)); done; exit ${code}`;
    // A rootfs each, as the steps of a build have (each its own overlay mount): the mount points
    // a container makes and removes in its rootfs are its own.
    const roots = ['a', 'b', 'c'].map((t) => {
      const r = join(tmp, `rootfs-${t}`);
      makeBusyboxRootfs(r);
      return r;
    });
    const [a, b, c] = await Promise.all([run(script('a', 0), roots[0]), run(script('b', 3), roots[1]), run(script('c', 0), roots[2])]);
    for (const [r, tag, code] of [[a, 'a', 0], [b, 'b', 3], [c, 'c', 0]] as const) {
      assert.equal(r.exitCode, code);
      assert.deepEqual(r.out, Array.from({ length: 200 }, (_, i) => `${tag}-out-${i}`));
      assert.deepEqual(r.err, Array.from({ length: 200 }, (_, i) => `${tag}-err-${i}`));
    }
  });

  it('relays a megabyte of output whole, across any frame and chunk boundary, and a last line without a newline', async () => {
    const r = await run("head -c 1000000 /dev/zero | tr '\\0' x | fold -w 100; echo; printf 'é€ tail'");
    assert.equal(r.exitCode, 0, r.err.join('\n'));
    assert.equal(r.out.length, 10001);
    assert.ok(r.out.slice(0, 10000).every((l) => l === 'x'.repeat(100)));
    assert.equal(r.out[10000], 'é€ tail');
  });

  it('a lazy executor told to prepare starts its launch server before the first run', async () => {
    const lazy = createLazyOciExecutor({ stateDir: async () => join(tmp, 'state-lazy'), resolvConf: '', runtime: 'wharf' });
    const servers = (): number[] => {
      const r = spawnSync('pgrep', ['-P', String(process.pid), '-f', 'wharf-container --serve'], { encoding: 'utf8' });
      return r.stdout.trim().split('\n').filter(Boolean).map(Number);
    };
    const before = servers();
    lazy.prepare();
    let started: number[] = [];
    for (let i = 0; i < 100 && started.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      started = servers().filter((p) => !before.includes(p));
    }
    assert.equal(started.length, 1, 'one launch server, before any run');
    const s = await lazy.run({ args: ['/bin/true'], env: [], cwd: '/', network: 'none' }, rootfs, [], {});
    assert.equal(s.exitCode, 0);
    assert.deepEqual(servers().filter((p) => !before.includes(p)), started, 'the run used it');
    await lazy.close();
  });

  it('a server nobody closes does not keep Node running', () => {
    const script = [
      `const { createOciExecutor } = await import(${JSON.stringify(new URL('../../src/runtime/index.js', import.meta.url).href)});`,
      `const { setNativeLauncher } = await import(${JSON.stringify(new URL('../../src/util/index.js', import.meta.url).href)});`,
      `setNativeLauncher(${JSON.stringify(fileURLToPath(new URL('../../native/wharf-launch', import.meta.url)))});`,
      `const e = await createOciExecutor({ stateDir: ${JSON.stringify(join(tmp, 'state-unclosed'))}, resolvConf: '', runtime: 'wharf' });`,
      `const s = await e.run({ args: ['/bin/true'], env: [], cwd: '/', network: 'none' }, ${JSON.stringify(rootfs)}, [], {});`,
      'console.log(`ran ${s.exitCode}`);',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, cwd: fileURLToPath(new URL('.', import.meta.url)) });
    assert.equal(r.error, undefined, 'Node exited by itself');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ran 0');
  });
});
