/**
 * The host cache (src/runtime/host-cache.ts) keeps crun's probe verdict and its compiled seccomp
 * filter across processes. The filter is the sandbox, so a cache entry that is not exactly what
 * wharf wrote (corrupt, truncated, a symlink, another owner, a FIFO, too big) is never used: the
 * profile is compiled again and a RUN is still refused what Docker's profile blocks. A verdict whose
 * key no longer matches is probed again, and a kept "crun works" that is wrong falls back to runc.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync, chownSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync,
} from 'node:fs';
import { tmpdir, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOciExecutor, type ProcessSpec } from '../../src/runtime/index.js';
import { onPath, type OciExecutor } from '../../src/runtime/oci-executor.js';
import { openHostCache, readEntry, sha256, writeEntry, type HostCache } from '../../src/runtime/host-cache.js';
import { forgetCompiledSeccomp, seccompCompiler, seccompEntryName } from '../../src/runtime/seccomp-cache.js';
import { probeKey } from '../../src/runtime/probe-verdict.js';
import { hostCgroupMode } from '../../src/runtime/cgroups.js';
import { seccompConfig } from '../../src/runtime/seccomp.js';
import { DEFAULT_CAPABILITIES } from '../../src/runtime/oci-config.js';
import { isUserError, nativeContainer, nativeLauncher, setNativeLauncher } from '../../src/util/index.js';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';
import { importBusyboxBase } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

const builtLauncher = fileURLToPath(new URL('../../native/wharf-launch', import.meta.url));
if (existsSync(builtLauncher)) setNativeLauncher(builtLauncher);
const PATH = process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin';
/** What `auto` runs steps on when crun's verdict is "works": wharf's own launcher where it can. */
const AUTO_CRUN = nativeContainer() && hostCgroupMode() === 'legacy' ? 'wharf' : 'crun';

/** A static program that calls add_key and prints its result and errno (EPERM = 1 under the profile). */
const ADD_KEY = `
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
  errno = 0;
  long r = syscall(SYS_add_key, "user", "wharf-test", "secret", 6L, -2L);
  printf("add_key %ld %d\\n", r, errno);
  return 0;
}
`;
/** A filter that allows every call: what a forged cache entry would carry. */
const ALLOW_ALL = Buffer.from([0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]);
const entry = (payload: Buffer, hashOf = payload) => Buffer.concat([Buffer.from(`wharf-cache-v1 ${sha256(hashOf)}\n`), payload]);

describe('host cache: only intact, root-owned entries in a root-only dir are read', () => {
  let tmp: string;
  before(() => {
    requireRoot();
    tmp = mkdtempSync(join(tmpdir(), 'wharf-hostcache-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('makes the dir 0700 and refuses a symlinked, open, foreign-owned dir or one under a writable parent', () => {
    const c = openHostCache(join(tmp, 'a', 'cache'));
    assert.ok(c);
    assert.equal(statSync(c.dir).mode & 0o777, 0o700);
    symlinkSync(c.dir, join(tmp, 'link'));
    assert.equal(openHostCache(join(tmp, 'link')), undefined, 'a symlink');
    mkdirSync(join(tmp, 'open'), { mode: 0o755 });
    chmodSync(join(tmp, 'open'), 0o755);
    assert.equal(openHostCache(join(tmp, 'open')), undefined, 'mode 0755');
    mkdirSync(join(tmp, 'theirs'), { mode: 0o700 });
    chownSync(join(tmp, 'theirs'), 65534, 65534);
    assert.equal(openHostCache(join(tmp, 'theirs')), undefined, 'owned by nobody');
    mkdirSync(join(tmp, 'w'));
    chmodSync(join(tmp, 'w'), 0o777);
    assert.equal(openHostCache(join(tmp, 'w', 'cache')), undefined, 'parent writable by everyone, not sticky');
  });

  it('reads back what it wrote, and nothing altered, truncated, linked, foreign, open, oversized or a FIFO', () => {
    const c = openHostCache(join(tmp, 'entries'))!;
    const bpf = Buffer.alloc(64, 7);
    writeEntry(c, 'ok', bpf);
    assert.deepEqual(readEntry(c, 'ok', 1024), bpf);
    const put = (name: string, bytes: Buffer) => writeFileSync(join(c.dir, name), bytes, { mode: 0o600 });
    put('corrupt', entry(ALLOW_ALL, bpf));
    assert.equal(readEntry(c, 'corrupt', 1024), undefined, 'payload does not match its hash');
    put('truncated', entry(bpf));
    truncateSync(join(c.dir, 'truncated'), 90);
    assert.equal(readEntry(c, 'truncated', 1024), undefined, 'truncated');
    writeFileSync(join(tmp, 'forged'), entry(ALLOW_ALL), { mode: 0o600 });
    symlinkSync(join(tmp, 'forged'), join(c.dir, 'symlink'));
    assert.equal(readEntry(c, 'symlink', 1024), undefined, 'a symlink is not followed');
    linkSync(join(tmp, 'forged'), join(c.dir, 'hardlink'));
    assert.equal(readEntry(c, 'hardlink', 1024), undefined, 'a second link');
    put('foreign', entry(ALLOW_ALL));
    chownSync(join(c.dir, 'foreign'), 65534, 65534);
    assert.equal(readEntry(c, 'foreign', 1024), undefined, 'owned by nobody');
    put('writable', entry(ALLOW_ALL));
    chmodSync(join(c.dir, 'writable'), 0o666);
    assert.equal(readEntry(c, 'writable', 1024), undefined, 'writable by others');
    put('big', entry(Buffer.alloc(2048)));
    assert.equal(readEntry(c, 'big', 1024), undefined, 'over the cap');
    assert.equal(spawnSync('mkfifo', [join(c.dir, 'fifo')]).status, 0);
    assert.equal(readEntry(c, 'fifo', 1024), undefined, 'a FIFO (and no hang)');
    assert.deepEqual(readEntry(c, 'ok', 1024), bpf, 'the intact entry still reads');
  });
});

describe('host cache with a real crun: tampered filters are compiled again, stale verdicts probed again', () => {
  let tmp: string;
  let rootfs: string;
  let cacheDir: string;
  let cache: HostCache;
  let bpfName: string;
  let compiled: Buffer;

  before(() => {
    requireRoot();
    assert.ok(onPath('crun', PATH), 'crun is installed (apt-get install crun)');
    tmp = mkdtempSync(join(tmpdir(), 'wharf-hostcache-run-'));
    rootfs = join(tmp, 'rootfs');
    makeBusyboxRootfs(rootfs);
    writeFileSync(join(tmp, 'add_key.c'), ADD_KEY);
    const cc = spawnSync('cc', ['-static', '-O2', '-o', join(rootfs, 'add_key'), join(tmp, 'add_key.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, `cc -static failed (install libc6-dev): ${cc.stderr}`);
    cacheDir = join(tmp, 'cache');
    cache = openHostCache(cacheDir)!;
    const crun = PATH.split(':').map((d) => join(d, 'crun')).find((p) => existsSync(p))!;
    const profile = JSON.stringify(seccompConfig({ capabilities: DEFAULT_CAPABILITIES, nodeArch: process.arch, kernelRelease: release() }));
    const compiler = seccompCompiler(crun);
    assert.ok(compiler && /libseccomp/.test(compiler), `crun and its libseccomp identify the compiler: ${compiler}`);
    bpfName = seccompEntryName(profile, compiler);
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function executor(extra: { searchPath?: string; runtime?: 'auto' | 'crun' } = {}): Promise<OciExecutor> {
    return createOciExecutor({ stateDir: join(tmp, 'state'), resolvConf: '', searchPath: extra.searchPath ?? PATH, cacheDir, runtime: extra.runtime ?? 'auto' });
  }
  async function run(e: OciExecutor, script: string) {
    const out: string[] = [];
    const spec: ProcessSpec = { args: ['/bin/sh', '-c', script], env: [], cwd: '/', network: 'none' };
    const status = await e.run(spec, rootfs, [], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
    return { ...status, out };
  }
  /** A process's first RUN: nothing compiled in memory, so the host cache is read. */
  async function firstRunAddKey(): Promise<string[]> {
    forgetCompiledSeccomp();
    const r = await run(await executor(), "grep '^Seccomp:' /proc/self/status; /add_key");
    assert.equal(r.exitCode, 0, r.out.join('\n'));
    return r.out;
  }

  it('keeps the verdict and the filter, and a later first RUN uses the kept filter (still confined)', async () => {
    const e = await executor();
    assert.equal(e.runtime, AUTO_CRUN);
    assert.match(readFileSync(join(cacheDir, 'crun-probe'), 'utf8'), /"runtime":"crun"/);
    forgetCompiledSeccomp();
    await run(e, 'true'); // compiles on the side and keeps the result
    compiled = readEntry(cache, bpfName, 1 << 16)!;
    assert.ok(compiled && compiled.length % 8 === 0 && compiled.length > ALLOW_ALL.length, 'the compiled filter was kept');
    const ino = statSync(join(cacheDir, bpfName)).ino;
    assert.deepEqual(await firstRunAddKey(), ['Seccomp:\t2', 'add_key -1 1']);
    assert.equal(statSync(join(cacheDir, bpfName)).ino, ino, 'used as it was, not compiled and written again');
  });

  for (const [what, tamper] of [
    ['an allow-all filter under the real hash (corrupt)', () => writeFileSync(join(cacheDir, bpfName), entry(ALLOW_ALL, compiled), { mode: 0o600 })],
    ['a truncated entry', () => {
      writeFileSync(join(cacheDir, bpfName), entry(compiled), { mode: 0o600 });
      truncateSync(join(cacheDir, bpfName), 200);
    }],
    ['a symlink to an intact allow-all entry', () => {
      writeFileSync(join(tmp, 'forged.bpf'), entry(ALLOW_ALL), { mode: 0o600 });
      symlinkSync(join(tmp, 'forged.bpf'), join(cacheDir, bpfName));
    }],
    ['an intact allow-all entry owned by nobody', () => {
      writeFileSync(join(cacheDir, bpfName), entry(ALLOW_ALL), { mode: 0o600 });
      chownSync(join(cacheDir, bpfName), 65534, 65534);
    }],
  ] as const) {
    it(`ignores ${what}: add_key still gets EPERM, and the entry is compiled and written again`, async () => {
      rmSync(join(cacheDir, bpfName), { force: true });
      tamper();
      assert.deepEqual(await firstRunAddKey(), ['Seccomp:\t2', 'add_key -1 1']);
      assert.deepEqual(readEntry(cache, bpfName, 1 << 16), compiled, 'replaced by a good entry');
      assert.ok(!statSync(join(cacheDir, bpfName)).isSymbolicLink());
    });
  }

  it('probes again when the kept verdict has another key, and obeys one with the right key', async () => {
    const kept = JSON.parse(readFileSync(join(cacheDir, 'crun-probe'), 'utf8').split('\n')[1]!) as { key: string };
    writeEntry(cache, 'crun-probe', Buffer.from(JSON.stringify({ key: sha256('another crun'), runtime: 'runc' })));
    assert.equal((await executor()).runtime, AUTO_CRUN, 'stale verdict → probed');
    assert.match(readFileSync(join(cacheDir, 'crun-probe'), 'utf8'), new RegExp(`"key":"${kept.key}","runtime":"crun"`));
    writeEntry(cache, 'crun-probe', Buffer.from(JSON.stringify({ key: kept.key, runtime: 'runc' })));
    assert.equal((await executor()).runtime, 'runc', 'the kept verdict is what decides');
    writeFileSync(join(cacheDir, 'crun-probe'), 'garbage');
    assert.equal((await executor()).runtime, AUTO_CRUN, 'an entry without its hash header → probed');
  });

  it('falls back to runc when a kept "crun works" is wrong (crun refuses the host), and says so with --runtime crun', async () => {
    // A crun that fails as crun does on a hybrid host: its log says why, before any container exists.
    const bin = join(tmp, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'crun'), [
      '#!/bin/sh',
      'while [ $# -gt 0 ]; do [ "$1" = --log ] && log=$2; shift; done',
      'msg="cgroups in hybrid mode not supported, drop all controllers from cgroupv2"',
      '[ -n "$log" ] && echo "{\\"msg\\":\\"$msg\\",\\"level\\":\\"error\\"}" > "$log"',
      'echo "$msg" >&2; exit 1',
    ].join('\n'), { mode: 0o755 });
    const searchPath = `${bin}:${PATH}`;
    const key = probeKey(join(bin, 'crun'), hostCgroupMode() === 'legacy' ? nativeLauncher() : undefined, hostCgroupMode());
    assert.ok(key);
    writeEntry(cache, 'crun-probe', Buffer.from(JSON.stringify({ key, runtime: 'crun' })));
    const saved = process.env['PATH'];
    process.env['PATH'] = searchPath; // the runtime (and the launcher) find crun on PATH
    try {
      // Nothing compiled in this process: wharf's launcher would need this crun to compile the profile.
      forgetCompiledSeccomp();
      const e = await executor({ searchPath });
      assert.equal(e.runtime, AUTO_CRUN, 'the kept verdict was taken');
      const r = await run(e, 'echo ran');
      assert.equal(r.exitCode, 0, r.out.join('\n'));
      assert.ok(r.out.includes('ran'), r.out.join('\n'));
      assert.equal(e.runtime, 'runc', 'switched after a new probe');
      assert.match(readFileSync(join(cacheDir, 'crun-probe'), 'utf8'), new RegExp(`"key":"${key}","runtime":"runc"`));
      const forced = await executor({ searchPath, runtime: 'crun' });
      await assert.rejects(run(forced, 'echo ran'), (err: unknown) =>
        isUserError(err) && err.code === 'runtime.crun-unusable' && /hybrid mode/.test(err.message) && /--runtime runc/.test(err.hint ?? ''));
    } finally {
      process.env['PATH'] = saved;
    }
  });
});

describe('host cache: a crun that fails for another reason is not kept as runc', () => {
  let tmp: string;
  before(() => {
    requireRoot();
    tmp = mkdtempSync(join(tmpdir(), 'wharf-hostcache-flaky-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('takes runc for this process and probes again in the next (a fork failing under load is not lasting)', async () => {
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'crun'), '#!/bin/sh\necho "fork: Resource temporarily unavailable" >&2; exit 1\n', { mode: 0o755 });
    const cacheDir = join(tmp, 'cache');
    const saved = process.env['PATH'];
    process.env['PATH'] = `${bin}:${PATH}`;
    try {
      const e = await createOciExecutor({ stateDir: join(tmp, 'state'), searchPath: `${bin}:${PATH}`, cacheDir, runtime: 'auto' });
      assert.equal(e.runtime, 'runc');
      assert.deepEqual(readdirSync(cacheDir), [], 'no verdict kept');
    } finally {
      process.env['PATH'] = saved;
    }
  });
});

describe('wharf build keeps the cache where WHARF_RUNTIME_CACHE says, across fresh store roots', () => {
  let tmp: string;
  before(() => {
    requireRoot();
    tmp = mkdtempSync(join(tmpdir(), 'wharf-hostcache-cli-'));
    mkdirSync(join(tmp, 'app'));
    writeFileSync(join(tmp, 'app', 'Dockerfile'), 'FROM busybox:test\nRUN echo one > /one\nRUN cat /one\n');
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  function build(n: number, cache: string): void {
    const root = join(tmp, `root-${n}`);
    importBusyboxBase(join(tmp, `base-${n}`), root);
    const r = spawnSync(process.execPath, [wharfBin, '--root', root, 'build', '--progress', 'plain', '-t', 'x:1', join(tmp, 'app')], {
      encoding: 'utf8', env: { ...process.env, WHARF_RUNTIME_CACHE: cache },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /RUN cat \/one/);
  }

  it('writes the verdict and the filter once; a build with a fresh root uses them as they are', () => {
    const cache = join(tmp, 'cache');
    build(1, cache);
    const names = readdirSync(cache).sort();
    assert.equal(names.length, 2, names.join(' '));
    assert.equal(names[0], 'crun-probe');
    assert.match(names[1]!, /^seccomp-[0-9a-f]{64}\.bpf$/);
    const inodes = names.map((n) => statSync(join(cache, n)).ino);
    build(2, cache);
    assert.deepEqual(readdirSync(cache).sort(), names);
    assert.deepEqual(names.map((n) => statSync(join(cache, n)).ino), inodes, 'neither probed nor compiled again');
  });

  it('keeps nothing with WHARF_RUNTIME_CACHE=off', () => {
    build(3, 'off');
    assert.ok(!existsSync(join(tmp, 'off')));
  });
});
