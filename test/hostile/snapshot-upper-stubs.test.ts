/**
 * The mount-point stubs made in a RUN's upper dir are taken out after the run from a tree the step
 * wrote. A step that swapped a stub, or a dir on its way, for a symlink to a host path must not
 * get wharf to remove, rename or touch anything outside the upper dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { makeUpperStubs } from '../../src/snapshot/index.js';
import { setNativeAddon, xattrsReadInProcess, type NativeAddon } from '../../src/util/index.js';
import { requireRoot } from '../helpers/busybox.js';

/** The lowers are read in process (xattrs through the addon); without it no stubs are made. */
const addonPath = fileURLToPath(new URL('../../native/wharf_native.node', import.meta.url));

test('stubs swapped for symlinks to host paths: removal leaves the host paths as they were', () => {
  requireRoot();
  setNativeAddon(() => createRequire(addonPath)(addonPath) as NativeAddon);
  assert.ok(xattrsReadInProcess(), 'the native addon reads xattrs');
  const tmp = mkdtempSync(join(tmpdir(), 'wharf-hostile-stubs-'));
  try {
    const lower = join(tmp, 'lower');
    mkdirSync(join(lower, 'etc'), { recursive: true });
    const host = join(tmp, 'host');
    mkdirSync(join(host, 'emptydir'), { recursive: true });
    writeFileSync(join(host, 'hosts'), '');
    writeFileSync(join(host, 'resolv.conf'), '');
    writeFileSync(join(host, 'hostname'), '');
    utimesSync(host, 1_500_000_000, 1_500_000_000);
    const before = readdirSync(host).sort();

    const upper = join(tmp, 'upper');
    const spares = join(tmp, 'spares');
    const stubs = makeUpperStubs([lower], upper, spares);
    // What the step left: /etc and /proc now symlinks to host dirs, /dev/ a symlink to an empty host dir.
    rmSync(join(upper, 'etc'), { recursive: true });
    symlinkSync(host, join(upper, 'etc'));
    rmSync(join(upper, 'proc'), { recursive: true });
    symlinkSync(join(host, 'emptydir'), join(upper, 'proc'));
    stubs.remove();

    assert.deepEqual(readdirSync(host).sort(), before, 'no host file removed');
    assert.equal(lstatSync(join(host, 'emptydir')).isDirectory(), true, 'the host dir was not renamed into the spares');
    assert.equal(lstatSync(host).mtimeMs, 1_500_000_000_000, "the host dir's times untouched");
    assert.equal(lstatSync(join(upper, 'etc')).isSymbolicLink(), true, "the step's symlinks are the step's");
    assert.equal(lstatSync(join(upper, 'proc')).isSymbolicLink(), true);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
