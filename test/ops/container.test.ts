import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile, lstat } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';
import { wharfBin } from '../helpers/paths.js';
import { openStore, parseReference, type Store } from '../../src/store/index.js';
import { addLayer, commitImage, fromImage, imageTimestamp, loadImage } from '../../src/image/index.js';
import { chainOf, openSnapshots } from '../../src/snapshot/index.js';
import { currentBoot } from '../../src/snapshot/durable.js';
import { createOciExecutor } from '../../src/runtime/index.js';
import { keptWorkDirs, layersOf, runInContainer } from '../../src/ops/index.js';
import { setNativeAddon, type NativeAddon } from '../../src/util/index.js';

// Real containers end to end: a busybox base imported with `wharf import`, a RUN-like step through
// overlayfs + runc committed as a layer, and the result checked with umoci.
const addonPath = fileURLToPath(new URL('../../native/wharf_native.node', import.meta.url));
let dir: string;
let root: string;
let store: Store;

const wharf = (args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });
const wharfIn = (storeRoot: string, args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', storeRoot, ...args], { encoding: 'utf8' });
const overlayMounts = async () => (await readFile('/proc/mounts', 'utf8')).split('\n').filter((l) => l.includes(root)).length;

before(async () => {
  requireRoot();
  dir = await mkdtemp(join(tmpdir(), 'wharf-container-'));
  root = join(dir, 'store');
  const rootfs = join(dir, 'rootfs');
  makeBusyboxRootfs(rootfs);
  await writeFile(join(rootfs, 'etc', 'motd'), 'delete me\n');
  await mkdir(join(rootfs, 'data'));
  await writeFile(join(rootfs, 'data', 'keep'), 'old\n');
  await mkdir(join(rootfs, 'd'));
  await writeFile(join(rootfs, 'd', 'old'), 'old\n');
  await writeFile(join(rootfs, 'chmodme'), 'x\n', { mode: 0o644 });
  await writeFile(join(rootfs, 'chownme'), 'x\n');
  execFileSync('tar', ['-C', rootfs, '-cf', join(dir, 'base.tar'), '.']);
  const r = wharf(['import', join(dir, 'base.tar'), 'base:1']);
  assert.equal(r.status, 0, r.stderr);
  store = await openStore(root);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a step committed from the overlay upper dir shows every kind of change as umoci unpacks it', async () => {
  const base = await loadImage(store, 'base:1');
  const stateDir = await store.tempDir('runtime');
  const snapshots = openSnapshots(root, store);
  const deps = { store, snapshots, executor: await createOciExecutor({ stateDir }) };
  const script = [
    'echo new > /created',
    'echo changed > /data/keep',
    'rm /etc/motd',
    'rm -rf /d && mkdir /d && echo n > /d/new',
    'ln -s /created /link',
    'ln /created /hard',
    'chmod 600 /chmodme',
    'chown 1000:1000 /chownme',
  ].join(' && ');
  const lines: string[] = [];
  const res = await runInContainer(deps, layersOf(base), { args: ['sh', '-c', script], env: ['PATH=/bin'], cwd: '/', network: 'none' }, [], { stderr: (l) => lines.push(l) }, undefined, { compression: 'gzip' });
  await rm(stateDir, { recursive: true, force: true });
  assert.equal(res.exitCode, 0, lines.join('\n'));
  assert.ok(res.layer);

  const listing = execFileSync('tar', ['-tvzf', store.path(res.layer.digest)], { encoding: 'utf8' });
  assert.match(listing, /etc\/\.wh\.motd/);
  assert.match(listing, /d\/\.wh\.\.wh\.\.opq/);
  assert.match(listing, /hard link to created|hard link to \.\/created|hard.*link to.*created/);
  assert.doesNotMatch(listing, /\bproc\b|\bsys\/|etc\/hosts|etc\/resolv\.conf|etc\/hostname/, 'runtime mounts never reach the layer');

  // The committed upper dir is now the layer's snapshot (moved, not copied).
  assert.equal((await snapshots.prepare([...layersOf(base), { descriptor: { mediaType: res.layer.mediaType, digest: res.layer.digest, size: res.layer.size }, diffId: res.layer.diffId }])).length, 2);

  const draft = addLayer(fromImage(base.config, base.manifest.layers), { descriptor: { mediaType: res.layer.mediaType, digest: res.layer.digest, size: res.layer.size }, diffId: res.layer.diffId }, { created_by: 'RUN test' });
  const img = await commitImage(store, draft, { created: imageTimestamp(undefined) });
  const ref = parseReference('stepped:1');
  assert.ok(ref.ok);
  await store.setTag(ref.value, img.manifestDescriptor);

  const bundle = join(dir, 'bundle');
  execFileSync('umoci', ['unpack', '--image', `${root}:stepped:1`, bundle], { stdio: 'pipe' });
  const fs = join(bundle, 'rootfs');
  assert.equal(await readFile(join(fs, 'created'), 'utf8'), 'new\n');
  assert.equal(await readFile(join(fs, 'data', 'keep'), 'utf8'), 'changed\n');
  await assert.rejects(stat(join(fs, 'etc', 'motd')));
  assert.deepEqual(await readdir(join(fs, 'd')), ['new']);
  assert.equal(await readlink(join(fs, 'link')), '/created');
  assert.equal((await stat(join(fs, 'hard'))).ino, (await stat(join(fs, 'created'))).ino);
  assert.equal((await stat(join(fs, 'chmodme'))).mode & 0o777, 0o600);
  const chown = await lstat(join(fs, 'chownme'));
  assert.deepEqual([chown.uid, chown.gid], [1000, 1000]);
  assert.equal(await overlayMounts(), 0);
});

/** A store of its own with the base imported (the other tests count the snapshots of theirs), and a runtime state dir in it. */
async function storeOfItsOwn(name: string) {
  const root = join(dir, name);
  const r = spawnSync(process.execPath, [wharfBin, '--root', root, 'import', join(dir, 'base.tar'), 'base:1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const store = await openStore(root);
  return { root, store, base: await loadImage(store, 'base:1'), stateDir: await store.tempDir('runtime') };
}

test("a RUN's umount is the sync that makes its snapshot and the ones before it durable: no sync at the end", async () => {
  const { root, store, base, stateDir } = await storeOfItsOwn('store-synced');
  const snapshots = openSnapshots(root, store);
  const deps = { store, snapshots, executor: await createOciExecutor({ stateDir }) };
  const res = await runInContainer(deps, layersOf(base), { args: ['sh', '-c', 'echo synced > /f'], env: ['PATH=/bin'], cwd: '/', network: 'none' }, [], {}, undefined, { compression: 'none' });
  await rm(stateDir, { recursive: true, force: true });
  assert.equal(res.exitCode, 0);
  const chains = chainOf([...layersOf(base).map((l) => l.diffId), res.layer!.diffId]);
  const madeAt = (chain: string) => (JSON.parse(readFileSync(join(root, 'snapshots', chain.slice('sha256:'.length), 'layer'), 'utf8')) as { madeAt: number }).madeAt;
  const marker = join(root, 'snapshots', 'synced', currentBoot());
  rmSync(marker, { force: true });
  // No `sync` or `sh` to start: the marker can only come from the umount's sync.
  const path = process.env.PATH;
  process.env.PATH = join(dir, 'no-tools');
  try {
    await snapshots.flush();
  } finally {
    process.env.PATH = path;
  }
  const synced = Number(readFileSync(marker, 'utf8'));
  for (const chain of chains) assert.ok(madeAt(chain) <= synced, `${chain} counts as made before the sync that covers it`);
});

test('kept work dirs: RUNs reuse one work dir, stubs made in the upper dir serve as mount points and reach no layer; the store keeps it for the next build, prune removes it', async () => {
  const { root, store, base, stateDir } = await storeOfItsOwn('store-kept');
  // The lowers are read in process (the addon's xattr reads), as the CLI does: then the stubs are wharf's.
  setNativeAddon(() => createRequire(addonPath)(addonPath) as NativeAddon);
  const workDirs = keptWorkDirs(store);
  const containerDirs = () => readdirSync(join(root, 'tmp')).filter((n) => n.includes('.container.'));
  try {
    const deps = { store, snapshots: openSnapshots(root, store), executor: await createOciExecutor({ stateDir }), workDirs };
    let layers = layersOf(base);
    const seen: string[] = [];
    for (const step of ['ls / > /top1; cat /etc/hosts > /hosts1; mount | grep -c " /proc " > /proc1', 'ls / > /top2; echo x > /etc/added']) {
      const res = await runInContainer(deps, layers, { args: ['sh', '-c', step], env: ['PATH=/bin'], cwd: '/', network: 'none' }, [], {}, undefined, { compression: 'none' });
      assert.equal(res.exitCode, 0);
      const listing = execFileSync('tar', ['-tvf', store.path(res.layer!.digest)], { encoding: 'utf8' });
      assert.doesNotMatch(listing, /\b(proc|dev|sys)\/?$|etc\/(hosts|resolv\.conf|hostname)$/m, 'no stub in the layer');
      layers = [...layers, { descriptor: { mediaType: res.layer!.mediaType, digest: res.layer!.digest, size: res.layer!.size }, diffId: res.layer!.diffId }];
      seen.push(...containerDirs());
    }
    assert.equal(new Set(seen).size, 1, `one work dir for both RUNs: ${seen.join(', ')}`);
    // /proc, /dev and /sys were wharf's stubs (not the runtime's): back among the spares. /etc is
    // not: the second step wrote into it, so it is that step's.
    const spares = readdirSync(join(root, 'tmp', seen[0]!, 'stubs'));
    assert.equal(spares.filter((n) => /^d\d+$/.test(n)).length, 3, spares.join(' '));
    assert.ok(spares.includes('empty'));
    const lowers = await deps.snapshots.prepare(layers);
    const top = (name: string) => readFileSync(join(lowers[1]!, name), 'utf8');
    assert.match(top('top1'), /^proc$/m, 'the stub was there for the run');
    assert.match(top('hosts1'), /localhost/, "/etc/hosts is the runtime's file, bound over the stub");
    assert.equal(top('proc1').trim(), '1', '/proc mounted on the stub');
    assert.deepEqual(readdirSync(join(lowers[0]!, 'etc')), ['added'], "the second step's /etc holds its own file alone");
    assert.equal(await overlayMounts(), 0);
  } finally {
    setNativeAddon(undefined);
    await workDirs.close();
    await rm(stateDir, { recursive: true, force: true });
  }
  assert.deepEqual(containerDirs(), [], 'close took the work dir out of tmp/');
  const spares = readdirSync(join(root, 'spare'));
  assert.equal(spares.filter((n) => n.startsWith('container.')).length, 1, 'kept in the store for the next build');
  const next = await keptWorkDirs(store).take();
  assert.ok(next.startsWith(join(root, 'tmp', `${process.pid}.container.`)), 'the next build takes it into tmp/ under its pid');
  assert.ok(readdirSync(join(next, 'stubs')).includes('empty'), 'with its spare stubs');
  assert.deepEqual(readdirSync(join(root, 'spare')), []);
  await rm(next, { recursive: true, force: true });
  // prune removes the spares a store keeps.
  const kept = keptWorkDirs(store);
  kept.give(await kept.take());
  await kept.close();
  assert.equal(readdirSync(join(root, 'spare')).length, 1);
  const pruned = wharfIn(root, ['prune']);
  assert.equal(pruned.status, 0, pruned.stderr);
  assert.deepEqual(readdirSync(join(root, 'spare')), []);
});

test('wharf run uses the image config, streams output and returns the exit code', () => {
  const ok = wharf(['run', '--rm', '-e', 'GREETING=hi', '--user', 'app', '-w', '/data', 'base:1', 'sh', '-c', 'echo $GREETING; id -u; pwd; hostname; ps -o pid,comm | sed -n 2p']);
  assert.equal(ok.status, 0, ok.stderr);
  const [greeting, uid, pwd, hostname, ps] = ok.stdout.trim().split('\n');
  assert.equal(greeting, 'hi');
  assert.equal(uid, '1234');
  assert.equal(pwd, '/data');
  assert.notEqual(hostname, execFileSync('hostname', { encoding: 'utf8' }).trim());
  assert.match(ps!, /^\s*1 /, 'the container has its own PID namespace');
  const fail = wharf(['run', '--rm', 'base:1', 'sh', '-c', 'echo out; exit 7']);
  assert.equal(fail.status, 7);
  const missing = wharf(['run', '--rm', 'nope:1', 'true']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /image nope:1 not found/);
});

test('interrupting wharf run mid-command leaves no mount, container state or temp dir', async () => {
  const child = spawn(process.execPath, [wharfBin, '--root', root, 'run', '--rm', 'base:1', 'sh', '-c', 'echo started; sleep 1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
    child.on('exit', () => reject(new Error('exited before starting')));
  });
  // The runtime's state and bundles live on the host's tmpfs while the command runs.
  const stateDirs = async () => (await readdir('/dev/shm')).filter((n) => n.startsWith(`wharf-${child.pid}.runtime.`));
  assert.equal((await stateDirs()).length, 1);
  const t0 = Date.now();
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 130);
  assert.ok(Date.now() - t0 < 10_000, 'cancellation is prompt');
  assert.equal(await overlayMounts(), 0);
  assert.deepEqual(await readdir(join(root, 'tmp')), []);
  assert.deepEqual(await stateDirs(), []);
});

test('a runtime state dir left on the tmpfs by a killed wharf is removed by the next command that runs a container', async () => {
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  const left = join('/dev/shm', `wharf-${dead}.runtime.abcdef`);
  await mkdir(join(left, 'runc'), { recursive: true });
  const alive = join('/dev/shm', `wharf-${process.pid}.runtime.abcdef`);
  await mkdir(alive, { recursive: true });
  try {
    assert.equal(wharf(['run', '--rm', 'base:1', 'true']).status, 0);
    assert.equal(existsSync(left), false, 'the dead process\'s dir was swept');
    assert.equal(existsSync(alive), true, 'a live process\'s dir is kept');
  } finally {
    await rm(left, { recursive: true, force: true });
    await rm(alive, { recursive: true, force: true });
  }
});

test('rmi of the last image using a layer removes its snapshot too', async () => {
  const snaps = async () => (await readdir(join(root, 'snapshots'))).filter((n) => !n.startsWith('.') && n !== 'l');
  const links = () => readdir(join(root, 'snapshots', 'l')).catch(() => [] as string[]);
  const before = await snaps();
  assert.ok((await links()).length >= 1, 'mounts link the lower dirs in snapshots/l');
  assert.ok(before.length >= 2, 'the base and the committed step have snapshots');
  assert.equal(wharf(['rmi', 'stepped:1']).status, 0);
  const after = await snaps();
  assert.equal(after.length, before.length - 1, 'only the step layer snapshot went');
  assert.equal(wharf(['rmi', 'base:1']).status, 0);
  assert.deepEqual(await snaps(), []);
  assert.deepEqual(await links(), [], 'links of removed snapshots are pruned');
  assert.equal(wharf(['fsck']).status, 0);
});
