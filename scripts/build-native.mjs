// Compiles native/wharf_native.c (mount, umount, xattr reads without child processes) into
// dist/native/wharf_native.node with the system C compiler and Node's own headers. Optional: when
// there is no compiler or no headers, wharf runs the mount, umount and getfattr programs instead,
// so this warns and succeeds.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'native', 'wharf_native.node');
const headers = [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node'].find((d) => existsSync(join(d, 'node_api.h')));
rmSync(out, { force: true });
if (!headers) {
  console.warn('scripts/build-native.mjs: no node_api.h found; wharf will use the mount/umount/getfattr programs');
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
const cc = process.env.CC || 'cc';
const r = spawnSync(cc, ['-O2', '-Wall', '-Werror', '-shared', '-fPIC', `-I${headers}`, join(root, 'native', 'wharf_native.c'), '-o', out, '-lpthread'], { stdio: 'inherit' });
if (r.status !== 0) {
  rmSync(out, { force: true });
  console.warn(`scripts/build-native.mjs: ${cc} failed; wharf will use the mount/umount/getfattr programs`);
}
