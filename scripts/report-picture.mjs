// Renders docs/report.png, the README's picture of `wharf build --report`: builds examples/picture
// in a temp store, edits words.txt, builds again with --report and screenshots the page in headless
// Chromium, with the details panel of the first step that missed open (as a click opens it).
// Needs root (builds), busybox-static and chromium (scripts/ensure-host-packages.sh).
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wharf = join(root, 'bin', 'wharf.js');
const out = join(root, 'docs', 'report.png');
const tmp = mkdtempSync(join(tmpdir(), 'wharf-picture-'));

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return r;
}

try {
  // A busybox base, as the demo makes it, imported under the name the example uses.
  const rootfs = join(tmp, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'root']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p)), join(rootfs, 'bin', 'busybox'));
  run('chroot', [rootfs, '/bin/busybox', '--install', '-s', '/bin']);
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  run('tar', ['--numeric-owner', '-C', rootfs, '-cf', join(tmp, 'rootfs.tar'), '.']);
  const store = join(tmp, 'store');
  run(process.execPath, [wharf, '--root', store, 'import', join(tmp, 'rootfs.tar'), 'wharf-demo/busybox:latest']);

  // The context under the same relative path, so the page's title reads as the README's command.
  cpSync(join(root, 'examples', 'picture'), join(tmp, 'examples', 'picture'), { recursive: true });
  const build = (...extra) => run(process.execPath, [wharf, '--root', store, 'build', '--progress', 'plain', ...extra, 'examples/picture'], { cwd: tmp });
  build();
  appendFileSync(join(tmp, 'examples', 'picture', 'words.txt'), 'kiwi\n');
  const html = join(tmp, 'report.html');
  build('--report', html);

  const profile = join(tmp, 'chromium');
  mkdirSync(dirname(out), { recursive: true });
  run('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${profile}`, '--window-size=1320,960', `--screenshot=${out}`, `${pathToFileURL(html).href}#step=0/s0v1`]);
  process.stdout.write(`wrote ${out}\n`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
