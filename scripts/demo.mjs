// The README's main job: runs wharf on the bundled examples with an embedded store under a temp
// root (no daemon, no config) and prints what each step shows.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wharf = join(root, 'bin', 'wharf.js');
const store = process.env.WHARF_ROOT ?? mkdtempSync(join(tmpdir(), 'wharf-demo-'));
const keepStore = Boolean(process.env.WHARF_ROOT);

function step(title, args) {
  process.stdout.write(`\n\x1b[1m$ wharf ${args.join(' ')}\x1b[0m   # ${title}\n`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [wharf, '--root', store, ...args], { stdio: 'inherit', cwd: root });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(`(${ms.toFixed(0)} ms, exit ${r.status})\n`);
  if (r.status !== 0) {
    cleanup();
    process.exit(r.status ?? 1);
  }
}
function cleanup() {
  if (!keepStore) rmSync(store, { recursive: true, force: true });
}

/** A busybox rootfs tarball from Debian's busybox-static: the demo's base image, made from nothing. */
function busyboxRootfsTar(out) {
  spawnSync('bash', [join(root, 'scripts', 'ensure-host-packages.sh')], { stdio: 'inherit' });
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!busybox) throw new Error('busybox-static is not installed (apt-get install busybox-static)');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-rootfs-'));
  try {
    for (const d of ['bin', 'etc', 'tmp', 'root']) mkdirSync(join(dir, d));
    copyFileSync(busybox, join(dir, 'bin', 'busybox'));
    spawnSync('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin'], { stdio: 'inherit' });
    writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
    writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    const r = spawnSync('tar', ['-C', dir, '--numeric-owner', '-cf', out, '.'], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('tar failed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rootfsTar = join(root, 'examples', 'base', 'rootfs.tar');
busyboxRootfsTar(rootfsTar);
step('import a busybox rootfs as a base image (no daemon, no registry)', ['import', rootfsTar, 'wharf-demo/busybox:latest']);
step('list the store (a plain OCI image layout)', ['images']);
step('run a throwaway container: own PID, UTS and network namespaces', ['run', 'wharf-demo/busybox:latest', 'sh', '-c', 'echo "hello from $(hostname), pid $$"; ls /; cat /proc/net/dev | tail -n +3 | cut -d: -f1']);
step('parse a Dockerfile into BuildKit\'s AST dump', ['parse', '--format', 'buildkit', '-f', 'examples/hello/Dockerfile']);
step('plan a multi-stage build: two independent stages feed the last', ['plan', '-f', 'examples/multistage/Dockerfile']);
step('plan only what --target needs', ['plan', '-f', 'examples/multistage/Dockerfile', '--target', 'words']);
step('check every blob in the store against its digest', ['fsck']);
cleanup();
