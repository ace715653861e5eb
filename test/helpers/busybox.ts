import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Builds a busybox rootfs in `dir` from Debian's busybox-static: the binary, its applet symlinks
 * (installed by busybox itself inside a chroot) and small passwd/group files with a test user.
 */
export function makeBusyboxRootfs(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'etc'));
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => spawnSync('test', ['-x', p]).status === 0);
  if (!busybox) throw new Error('busybox-static is not installed (apt-get install busybox-static)');
  copyFileSync(busybox, join(dir, 'bin', 'busybox'));
  const res = spawnSync('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`busybox --install failed: ${res.stderr}`);
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345:app user:/home/app:/bin/sh\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\napp:x:2345:\nextra:x:3000:app\n');
}

/** Throws a clear message when the test cannot run for lack of root. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('this test needs root (containers and overlay mounts)');
}
