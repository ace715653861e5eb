// The README's main job: builds the bundled examples with an embedded store under a temp root (no
// daemon, no config), runs the results with `wharf run`, rebuilds to show every step CACHED and
// prints the timings. Needs root (containers, overlay mounts) and Debian's busybox-static.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wharf = join(root, 'bin', 'wharf.js');
const store = process.env.WHARF_ROOT ?? mkdtempSync(join(tmpdir(), 'wharf-demo-'));
const keepStore = Boolean(process.env.WHARF_ROOT);
const timings = [];

function cleanup() {
  if (!keepStore) rmSync(store, { recursive: true, force: true });
}
function fail(message) {
  process.stderr.write(`demo: ${message}\n`);
  cleanup();
  process.exit(1);
}

function step(title, args) {
  process.stdout.write(`\n\x1b[1m$ wharf ${args.join(' ')}\x1b[0m   # ${title}\n`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [wharf, '--root', store, ...args], { stdio: 'inherit', cwd: root });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(`(${ms.toFixed(0)} ms, exit ${r.status})\n`);
  timings.push([title, ms]);
  if (r.status !== 0) fail(`\`wharf ${args.join(' ')}\` exited with ${r.status}`);
}

/** examples/base/rootfs.tar from Debian's busybox-static: the binary plus its applet links. */
function makeBaseRootfs() {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!busybox) fail('busybox-static is not installed (scripts/ensure-host-packages.sh installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-demo-rootfs-'));
  try {
    for (const d of ['bin', 'etc', 'tmp', 'root']) mkdirSync(join(dir, d));
    copyFileSync(busybox, join(dir, 'bin', 'busybox'));
    const inst = spawnSync('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin'], { encoding: 'utf8' });
    if (inst.status !== 0) fail(`busybox --install failed: ${inst.stderr}`);
    writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
    writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    const tar = spawnSync('tar', ['--numeric-owner', '--sort=name', '-C', dir, '-cf', join(root, 'examples', 'base', 'rootfs.tar'), '.'], { stdio: 'inherit' });
    if (tar.status !== 0) fail('tar failed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.getuid?.() !== 0) fail('run the demo as root: builds use overlay mounts and runc');
spawnSync('bash', [join(root, 'scripts', 'ensure-host-packages.sh')], { stdio: 'inherit' });
process.stdout.write(`store: ${store}\n`);
makeBaseRootfs();

const plain = ['--progress', 'plain'];
step('a busybox base from scratch + ADD of a rootfs tar', ['build', ...plain, '-t', 'wharf-demo/busybox:latest', 'examples/base']);
step('an app on that base', ['build', ...plain, '-t', 'wharf-demo/hello:latest', 'examples/hello']);
step('run it in a throwaway container', ['run', 'wharf-demo/hello:latest']);
step('two independent stages in parallel, then COPY --from both', ['build', ...plain, '-t', 'wharf-demo/multistage:latest', 'examples/multistage']);
step('run the multi-stage result', ['run', 'wharf-demo/multistage:latest']);
step('the cache demo, first build', ['build', ...plain, '-t', 'wharf-demo/cache:latest', 'examples/cache-demo']);
step('the same build again: every step CACHED', ['build', ...plain, '-t', 'wharf-demo/cache:latest', 'examples/cache-demo']);
step('the images in the store', ['images']);

process.stdout.write('\n\x1b[1mtimings\x1b[0m\n');
for (const [title, ms] of timings) process.stdout.write(`  ${(ms / 1000).toFixed(2).padStart(7)} s  ${title}\n`);
cleanup();
