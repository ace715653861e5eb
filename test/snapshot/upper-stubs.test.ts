import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { makeUpperStubs } from '../../src/snapshot/index.js';
import { setNativeAddon, xattrsReadInProcess, type NativeAddon } from '../../src/util/index.js';
import { requireRoot } from '../helpers/busybox.js';

/** The lowers are read in process (xattrs through the addon); without it no stubs are made. */
const addonPath = fileURLToPath(new URL('../../native/wharf_native.node', import.meta.url));

// The runtime's mount points made in a fresh upper dir before the mount and taken out after it:
// the upper dir must end exactly as a run that made none would leave it.
describe('mount-point stubs in the upper dir', () => {
  let tmp: string;
  let n = 0;
  const fresh = () => join(tmp, `case-${n++}`);
  /** A lower dir with /etc (mode 0750, owner 7:8, an old mtime) holding passwd. */
  const imageWithEtc = (dir: string) => {
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    chownSync(join(dir, 'etc'), 7, 8);
    chmodSync(join(dir, 'etc'), 0o750);
    utimesSync(join(dir, 'etc'), 1_600_000_000.25, 1_600_000_000.5);
    return dir;
  };
  const tree = (dir: string): string[] => {
    const out: string[] = [];
    const walk = (rel: string) => {
      for (const name of readdirSync(join(dir, rel)).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        out.push(r);
        if (lstatSync(join(dir, r)).isDirectory()) walk(r);
      }
    };
    walk('');
    return out;
  };

  before(() => {
    requireRoot();
    setNativeAddon(() => createRequire(addonPath)(addonPath) as NativeAddon);
  assert.ok(xattrsReadInProcess(), 'the native addon reads xattrs (built by npm run build)');
    tmp = mkdtempSync(join(tmpdir(), 'wharf-upper-stubs-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('makes what the image lacks, /etc as overlayfs copies it up, and takes it all out again', () => {
    const c = fresh();
    const lower = imageWithEtc(join(c, 'lower'));
    const upper = join(c, 'upper');
    const stubs = makeUpperStubs([lower], upper);
    assert.deepEqual([...stubs.made].sort(), ['dev', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'proc', 'sys']);
    const etc = lstatSync(join(upper, 'etc'));
    assert.equal(etc.mode & 0o7777, 0o750);
    assert.deepEqual([etc.uid, etc.gid], [7, 8]);
    assert.equal(etc.mtimeMs, lstatSync(join(lower, 'etc')).mtimeMs, 'times as the lower dir has them');
    assert.equal(lstatSync(join(upper, 'proc')).mode & 0o7777, 0o755);
    assert.equal(lstatSync(join(upper, 'etc', 'hosts')).size, 0);
    const rootTimes = lstatSync(upper).mtimeMs;
    stubs.remove();
    assert.deepEqual(tree(upper), [], 'nothing of the stubs is left, nor the /etc made for them');
    assert.equal(lstatSync(upper).mtimeMs <= rootTimes, true, 'the upper root has its times back');
  });

  it('leaves to the runtime what the image has, and paths with a symlink or a file on the way', () => {
    const c = fresh();
    const lower = join(c, 'lower');
    mkdirSync(join(lower, 'proc'), { recursive: true });
    writeFileSync(join(lower, 'sys'), 'a file where /sys goes\n');
    mkdirSync(join(lower, 'usr', 'etc'), { recursive: true });
    symlinkSync('usr/etc', join(lower, 'etc'));
    const stubs = makeUpperStubs([lower], join(c, 'upper'));
    assert.deepEqual(stubs.made, ['dev'], 'only /dev: /proc exists, /sys is a file, /etc a symlink');
    stubs.remove();
    assert.deepEqual(tree(join(c, 'upper')), []);
  });

  it('leaves /etc alone when a copy-up would carry its extended attributes', () => {
    const c = fresh();
    const lower = imageWithEtc(join(c, 'lower'));
    execFileSync('setfattr', ['-n', 'user.label', '-v', 'kept', join(lower, 'etc')]);
    const stubs = makeUpperStubs([lower], join(c, 'upper'));
    assert.deepEqual([...stubs.made].sort(), ['dev', 'proc', 'sys']);
    assert.equal(lstatSync(join(c, 'upper', 'etc'), { throwIfNoEntry: false }), undefined);
  });

  it('reads the lowers as overlayfs does: a whiteout hides /etc, an opaque dir hides what is below', () => {
    const c = fresh();
    const bottom = imageWithEtc(join(c, 'bottom'));
    const top = join(c, 'top');
    mkdirSync(top, { recursive: true });
    execFileSync('mknod', [join(top, 'etc'), 'c', '0', '0']);
    mkdirSync(join(bottom, 'dev'));
    const hidden = makeUpperStubs([top, bottom], join(c, 'upper1'));
    assert.ok(hidden.made.includes('etc'), 'the whiteout hides /etc: a stub dir is made for its files');
    assert.ok(!hidden.made.includes('dev'), '/dev of the bottom layer shows through');
    hidden.remove();
    assert.deepEqual(tree(join(c, 'upper1')), []);

    const opaqueTop = join(c, 'opaque');
    mkdirSync(join(opaqueTop, 'etc'), { recursive: true });
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(opaqueTop, 'etc')]);
    writeFileSync(join(bottom, 'etc', 'hosts'), '127.0.0.1 below\n');
    const opaque = makeUpperStubs([opaqueTop, bottom], join(c, 'upper2'));
    assert.ok(opaque.made.includes('etc/hosts'), 'the opaque /etc hides the bottom hosts file');
    opaque.remove();
  });

  it('keeps what the step did in a dir the stubs were made in, with the times the step left it', () => {
    const c = fresh();
    const lower = imageWithEtc(join(c, 'lower'));
    const upper = join(c, 'upper');
    const stubs = makeUpperStubs([lower], upper);
    writeFileSync(join(upper, 'etc', 'motd'), 'the step wrote this\n'); // as the step would, through the overlay
    utimesSync(join(upper, 'etc'), 1_700_000_000, 1_700_000_000);
    stubs.remove();
    assert.deepEqual(tree(upper), ['etc', 'etc/motd']);
    assert.equal(lstatSync(join(upper, 'etc')).mtimeMs, 1_700_000_000_000, "the step's time, not the lower's");
  });

  it('recycles stub dirs through a spares dir and resets what a spare was before', () => {
    const c = fresh();
    const lower = imageWithEtc(join(c, 'lower'));
    const spares = join(c, 'spares');
    const first = makeUpperStubs([lower], join(c, 'upper1'), spares);
    const procIno = lstatSync(join(c, 'upper1', 'proc')).ino;
    first.remove();
    assert.equal(readdirSync(spares).filter((n) => n.startsWith('d')).length, 4, 'proc, dev, sys and the /etc copy-up');
    assert.equal(tree(join(c, 'upper1')).length, 0);
    // The empty file the stub files link to, filled meanwhile: the next stubs must still be empty.
    writeFileSync(join(spares, 'empty'), 'not empty any more\n');

    const second = makeUpperStubs([lower], join(c, 'upper2'), spares);
    const inodes = ['proc', 'dev', 'sys', 'etc'].map((p) => lstatSync(join(c, 'upper2', p)).ino);
    assert.ok(inodes.includes(procIno), 'a spare dir is renamed in, not made');
    const etc = lstatSync(join(c, 'upper2', 'etc'));
    assert.deepEqual([etc.mode & 0o7777, etc.uid, etc.gid], [0o750, 7, 8], '/etc as the copy-up of the lower one');
    for (const p of ['proc', 'dev', 'sys']) {
      const st = lstatSync(join(c, 'upper2', p));
      assert.deepEqual([st.mode & 0o7777, st.uid, st.gid], [0o755, 0, 0], `${p}: a stub's owner and mode, whatever the spare was`);
    }
    assert.equal(lstatSync(join(c, 'upper2', 'etc', 'hosts')).size, 0);
    second.remove();
    assert.deepEqual(tree(join(c, 'upper2')), []);
  });
});
