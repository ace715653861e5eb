import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { dropPureCopyUps, mountOverlay } from '../../src/snapshot/index.js';
import { isMountPoint, linkName, pruneLinks } from '../../src/snapshot/overlay.js';
import { createOciExecutor } from '../../src/runtime/index.js';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(dir));
}

describe('overlay mounts', () => {
  let tmp: string;
  before(() => {
    requireRoot();
    // A deep directory name makes 130 absolute lower paths far longer than one page.
    tmp = mkdtempSync(join(tmpdir(), 'wharf-overlay-' + 'x'.repeat(60) + '-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('mounts 130 lower layers (option string beyond one page if spelled out) and unmounts cleanly', async () => {
    const lowers: string[] = [];
    for (let i = 0; i < 130; i++) {
      const dir = join(tmp, 'layers', `layer-${String(i).padStart(3, '0')}-${'y'.repeat(40)}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `file-${i}`), `layer ${i}\n`);
      writeFileSync(join(dir, 'shared'), `from ${i}\n`);
      lowers.unshift(dir); // top first: the last written layer is the newest
    }
    assert.ok(lowers.join(':').length > 4096, 'the test must exceed one page with absolute paths');
    const m = await mountOverlay({ lowers, upper: join(tmp, 'upper'), target: join(tmp, 'merged') });
    try {
      assert.ok(await isMountPoint(m.target));
      const names = readdirSync(m.target);
      assert.equal(names.filter((n) => n.startsWith('file-')).length, 130);
      assert.equal(readFileSync(join(m.target, 'shared'), 'utf8'), 'from 129\n', 'the top layer wins');
      assert.equal(readFileSync(join(m.target, 'file-0'), 'utf8'), 'layer 0\n');
      writeFileSync(join(m.target, 'new'), 'upper\n');
    } finally {
      await m.unmount();
    }
    assert.deepEqual(mountsUnder(tmp), []);
    assert.equal(existsSync(m.target), false);
    assert.deepEqual(readdirSync(join(tmp, 'upper')), ['new']);
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('.overlay-')), [], 'links/work dirs removed');
    await m.unmount(); // idempotent
  });

  it('with a shared link dir, each lower is linked once across mounts; taken names and separators fall back to links of its own; dangling links are pruned', async () => {
    const lowers: string[] = [];
    for (let i = 0; i < 120; i++) {
      const dir = join(tmp, 'shared-layers', `layer-${String(i).padStart(3, '0')}-${'z'.repeat(40)}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `file-${i}`), `layer ${i}\n`);
      lowers.unshift(dir);
    }
    const linkDir = join(tmp, 'shared-links');
    const mountAndCheck = async (upper: string, target: string) => {
      const m = await mountOverlay({ lowers, upper: join(tmp, upper), target: join(tmp, target), linkDir });
      try {
        assert.equal(readdirSync(m.target).filter((n) => n.startsWith('file-')).length, 120);
        assert.equal(readFileSync(join(m.target, 'file-7'), 'utf8'), 'layer 7\n');
      } finally {
        await m.unmount();
      }
      assert.deepEqual(mountsUnder(tmp), []);
    };
    await mountAndCheck('su1', 'sm1');
    const made = readdirSync(linkDir).sort();
    assert.equal(made.length, 120, 'one link per lower');
    const inodes = made.map((n) => lstatSync(join(linkDir, n)).ino);
    for (const n of made) assert.ok(!isAbsolute(readlinkSync(join(linkDir, n))), 'links are relative, so a moved store keeps working');
    await mountAndCheck('su2', 'sm2');
    assert.deepEqual(readdirSync(linkDir).sort(), made, 'a second mount makes no links');
    assert.deepEqual(made.map((n) => lstatSync(join(linkDir, n)).ino), inodes);
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('.overlay-')), [], 'work dirs removed');

    // A name taken by another target: the mount uses links of its own and still sees every layer.
    const first = linkName(relative(linkDir, lowers[0]!));
    rmSync(join(linkDir, first));
    symlinkSync('elsewhere', join(linkDir, first));
    await mountAndCheck('su3', 'sm3');
    assert.equal(readlinkSync(join(linkDir, first)), 'elsewhere', 'a link it does not own is left alone');
    // An upper dir whose relative path holds a separator (a comma).
    mkdirSync(join(tmp, 'a,b'), { recursive: true });
    rmSync(join(linkDir, first));
    await mountAndCheck(join('a,b', 'su4'), 'sm4');

    assert.equal(existsSync(join(linkDir, first)), false, 'the fallback made no shared link');

    // A link whose target vanished is pruned, the others stay.
    rmSync(lowers[5]!, { recursive: true });
    symlinkSync('nowhere', join(linkDir, 'dangling'));
    assert.equal(pruneLinks(linkDir), 2);
    assert.equal(readdirSync(linkDir).length, 118);
  });

  it('without an upper dir: a read-only view of 0, 1 or many lowers (whiteouts hide, writes are refused, nothing is left)', async () => {
    const base = join(tmp, 'ro-base');
    const top = join(tmp, 'ro-top');
    mkdirSync(base, { recursive: true });
    mkdirSync(top, { recursive: true });
    writeFileSync(join(base, 'kept'), 'base\n');
    writeFileSync(join(base, 'gone'), 'base\n');
    execFileSync('mknod', [join(top, 'gone'), 'c', '0', '0']); // overlayfs's whiteout
    writeFileSync(join(top, 'new'), 'top\n');
    const linkDir = join(tmp, 'ro-links');
    for (const [name, lowers, links] of [['none', [], undefined], ['one', [base], linkDir], ['two', [top, base], undefined], ['two-shared', [top, base], linkDir]] as const) {
      const m = await mountOverlay({ lowers: [...lowers], target: join(tmp, `ro-${name}`), ...(links ? { linkDir: links } : {}) });
      try {
        const want = lowers.length === 0 ? [] : lowers.length === 1 ? ['gone', 'kept'] : ['kept', 'new'];
        assert.deepEqual(readdirSync(m.target).sort(), want, name);
        assert.throws(() => writeFileSync(join(m.target, 'x'), 'x'), /EROFS/, `${name}: read-only`);
      } finally {
        await m.unmount();
      }
      assert.deepEqual(mountsUnder(tmp), [], name);
      assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('.overlay-')), [], `${name}: scratch dir removed`);
    }
    assert.deepEqual(readdirSync(base).sort(), ['gone', 'kept'], 'the lowers are untouched');
  });

  it('mounts an empty base (no lower layers)', async () => {
    const m = await mountOverlay({ lowers: [], upper: join(tmp, 'upper-empty'), target: join(tmp, 'merged-empty') });
    try {
      assert.deepEqual(readdirSync(m.target), []);
    } finally {
      await m.unmount();
    }
    assert.deepEqual(mountsUnder(tmp), []);
  });

  it('a RUN on busybox + a layer leaves the file, a whiteout and an opaque dir in the upper dir', async () => {
    const base = join(tmp, 'busybox');
    makeBusyboxRootfs(base);
    const layer = join(tmp, 'layer1');
    mkdirSync(join(layer, 'd', 'sub'), { recursive: true });
    writeFileSync(join(layer, 'gone'), 'delete me\n');
    writeFileSync(join(layer, 'd', 'old'), 'old\n');
    const upper = join(tmp, 'run-upper');
    const executor = await createOciExecutor({ stateDir: join(tmp, 'state') });
    const m = await mountOverlay({ lowers: [layer, base], upper, target: join(tmp, 'run-rootfs') });
    let exitCode: number;
    try {
      ({ exitCode } = await executor.run(
        { args: ['/bin/sh', '-c', 'echo hello > /created && rm /gone && rm -rf /d && mkdir /d && echo new > /d/fresh'], env: [], cwd: '/', network: 'none' },
        m.target, [], {}));
    } finally {
      await m.unmount();
    }
    assert.equal(exitCode, 0);
    assert.deepEqual(mountsUnder(tmp), []);
    assert.equal(readFileSync(join(upper, 'created'), 'utf8'), 'hello\n');
    const wh = lstatSync(join(upper, 'gone'));
    assert.ok(wh.isCharacterDevice(), 'a deleted lower file is a char device whiteout');
    assert.equal(wh.rdev, 0, 'whiteout device is 0/0');
    const xattr = spawnSync('getfattr', ['--absolute-names', '-n', 'trusted.overlay.opaque', '--only-values', join(upper, 'd')], { encoding: 'utf8' });
    assert.equal(xattr.status, 0, `getfattr failed: ${xattr.stderr}`);
    assert.equal(xattr.stdout, 'y');
    assert.deepEqual(readdirSync(join(upper, 'd')), ['fresh']);
    // Mount-point stubs for /proc, /dev, /sys and /etc/hosts etc. never reach the layer.
    for (const stub of ['proc', 'dev', 'sys', 'etc/hosts', 'etc/resolv.conf', 'etc/hostname']) {
      assert.equal(existsSync(join(upper, stub)), false, `${stub} leaked into the upper dir`);
    }
    // /etc was copied up to hold the stubs; with them gone it equals the lower one and is dropped.
    assert.deepEqual(readdirSync(join(upper, 'etc')), []);
    assert.deepEqual(await dropPureCopyUps(upper, [layer, base]), ['etc']);
    assert.deepEqual(readdirSync(upper).sort(), ['created', 'd', 'gone']);
  });

  it('an aborted RUN on an overlay leaves no mount, runtime state or bundle', async () => {
    const base = join(tmp, 'busybox3');
    makeBusyboxRootfs(base);
    const stateDir = join(tmp, 'state-abort');
    const executor = await createOciExecutor({ stateDir });
    const m = await mountOverlay({ lowers: [base], upper: join(tmp, 'run-upper3'), target: join(tmp, 'run-rootfs3') });
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 300);
    try {
      await assert.rejects(
        executor.run({ args: ['/bin/sleep', '1000'], env: [], cwd: '/', network: 'none' }, m.target, [], {}, ac.signal),
        (e: unknown) => (e as { code?: string }).code === 'runtime.aborted');
    } finally {
      await m.unmount();
    }
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(mountsUnder(tmp), []);
    assert.deepEqual(readdirSync(join(stateDir, executor.runtime)), []);
    assert.deepEqual(readdirSync(join(stateDir, 'bundles')), []);
    assert.equal(existsSync(m.target), false);
  });

  it('keeps a copied-up /etc that the step changed', async () => {
    const base = join(tmp, 'busybox2');
    makeBusyboxRootfs(base);
    const upper = join(tmp, 'run-upper2');
    const executor = await createOciExecutor({ stateDir: join(tmp, 'state') });
    const m = await mountOverlay({ lowers: [base], upper, target: join(tmp, 'run-rootfs2') });
    try {
      const { exitCode } = await executor.run({ args: ['/bin/sh', '-c', 'echo hi > /etc/motd'], env: [], cwd: '/', network: 'none' }, m.target, [], {});
      assert.equal(exitCode, 0);
    } finally {
      await m.unmount();
    }
    assert.deepEqual(await dropPureCopyUps(upper, [base]), []);
    assert.deepEqual(readdirSync(join(upper, 'etc')), ['motd']);
  });
});
