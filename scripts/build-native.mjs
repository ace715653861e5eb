// Compiles native/wharf_native.c (mount, umount, xattr reads without child processes) into
// dist/native/wharf_native.node with the system C compiler and Node's own headers, and
// native/wharf_launch.c into dist/native/wharf-launch, native/wharf_container.c into dist/native/wharf-container. Optional: when there is no compiler or no
// headers, wharf runs the mount, umount and getfattr programs (and unshare and sh) instead, so
// this warns and succeeds.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The launcher of crun on hybrid-cgroup hosts (native/wharf_launch.c, src/runtime/launcher.ts).
// Without it wharf runs the same steps through unshare(1) and sh, 5–10 ms slower a RUN.
const launcher = join(root, 'dist', 'native', 'wharf-launch');
mkdirSync(dirname(launcher), { recursive: true });
rmSync(launcher, { force: true });
const l = spawnSync(process.env.CC || 'cc', ['-O2', '-Wall', '-Werror', join(root, 'native', 'wharf_launch.c'), '-o', launcher], { stdio: 'inherit' });
if (l.status !== 0) {
  rmSync(launcher, { force: true });
  console.warn(`scripts/build-native.mjs: the C compiler failed on wharf_launch.c; wharf will start crun through unshare and sh`);
}

// The container launcher (native/wharf_container.c, src/runtime/container-plan.ts): RUN steps
// without an OCI runtime. Without it they run on crun or runc.
const container = join(root, 'dist', 'native', 'wharf-container');
rmSync(container, { force: true });
const c = spawnSync(process.env.CC || 'cc', ['-O2', '-Wall', '-Werror', join(root, 'native', 'wharf_container.c'), '-o', container], { stdio: 'inherit' });
if (c.status !== 0) {
  rmSync(container, { force: true });
  console.warn(`scripts/build-native.mjs: the C compiler failed on wharf_container.c; RUN steps will use crun or runc`);
}

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

