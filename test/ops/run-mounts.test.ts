import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';
import { wharfBin } from '../helpers/paths.js';
import { openStore, type Store } from '../../src/store/index.js';
import { loadImage } from '../../src/image/index.js';
import { openSnapshots } from '../../src/snapshot/index.js';
import { createOciExecutor, type Executor } from '../../src/runtime/index.js';
import { layersOf, runInContainer } from '../../src/ops/container.js';
import { parseSecretFlag, prepareRunMounts, type SecretSource } from '../../src/ops/run-mounts.js';
import { parseMount, type Mount } from '../../src/instructions/index.js';
import type { LayerRef } from '../../src/snapshot/index.js';

// RUN --mount with real containers: every mount type behaves as in BuildKit, and nothing a mount
// shows the step (cache contents, secrets) ends up in the committed layer.
let dir: string;
let root: string;
let store: Store;
let executor: Executor;
let layers: LayerRef[];
let contextDir: string;

function mount(spec: string): Mount {
  const r = parseMount(spec, { start: 0, end: 0 }, (s) => ({ ok: true, value: s }));
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

async function step(script: string, mounts: Mount[], secrets = new Map<string, SecretSource>()) {
  const scratch = await store.tempDir('mounts');
  const prepared = await prepareRunMounts(mounts, { root, scratch, contextDir, secrets });
  const out: string[] = [];
  try {
    const res = await runInContainer(
      { store, snapshots: openSnapshots(root, store), executor }, layers,
      { args: ['sh', '-c', script], env: ['PATH=/bin', ...prepared.env], cwd: '/', network: 'none' },
      prepared.specs, { stdout: (l) => out.push(l), stderr: (l) => out.push(l) }, undefined, { compression: 'gzip' },
    );
    const listing = res.layer ? execFileSync('tar', ['-tvzf', store.path(res.layer.digest)], { encoding: 'utf8' }) : '';
    return { ...res, out, listing };
  } finally {
    await prepared.release();
    await rm(scratch, { recursive: true, force: true });
  }
}

before(async () => {
  requireRoot();
  dir = await mkdtemp(join(tmpdir(), 'wharf-mounts-'));
  root = join(dir, 'store');
  makeBusyboxRootfs(join(dir, 'rootfs'));
  execFileSync('tar', ['-C', join(dir, 'rootfs'), '-cf', join(dir, 'base.tar'), '.']);
  const r = spawnSync(process.execPath, [wharfBin, '--root', root, 'import', join(dir, 'base.tar'), 'base:1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  store = await openStore(root);
  executor = await createOciExecutor({ stateDir: await store.tempDir('runtime') });
  layers = layersOf(await loadImage(store, 'base:1'));
  contextDir = join(dir, 'ctx');
  await mkdir(join(contextDir, 'src'), { recursive: true });
  await writeFile(join(contextDir, 'src', 'main.c'), 'int main(){}\n');
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a cache mount keeps its contents across steps, with its uid/gid/mode, and stays out of the layer', async () => {
  const m = mount('type=cache,target=/var/cache/app,id=app-cache,uid=1234,gid=2345,mode=0750');
  const first = await step('echo built > /var/cache/app/artifact && stat -c "%u:%g %a" /var/cache/app', [m]);
  assert.equal(first.exitCode, 0, first.out.join('\n'));
  assert.equal(first.out[0], '1234:2345 750');
  const second = await step('cat /var/cache/app/artifact', [m]);
  assert.deepEqual(second.out, ['built']);
  assert.doesNotMatch(first.listing + second.listing, /artifact/);
});

test('a private cache mount in use elsewhere gives the step a fresh one; locked waits its turn', async () => {
  const shared = mount('type=cache,target=/c,id=contended,sharing=private');
  const holder = await prepareRunMounts([shared], { root, scratch: await store.tempDir('holder'), secrets: new Map() });
  try {
    const other = await step('echo x > /c/mine; ls /c', [shared]);
    assert.deepEqual(other.out, ['mine']);
    const again = await step('ls /c | wc -l', [mount('type=cache,target=/c,id=contended,sharing=shared')]);
    assert.deepEqual(again.out, ['0'], 'the private write went to a throwaway cache');
  } finally {
    await holder.release();
  }
  const locked = await step('echo ok > /c/l && cat /c/l', [mount('type=cache,target=/c,id=contended,sharing=locked')]);
  assert.deepEqual(locked.out, ['ok']);
});

test('secrets arrive as a 0400 file and as env, and never reach the layer', async () => {
  await writeFile(join(dir, 'token'), 's3cr3t-file');
  const secrets = new Map<string, SecretSource>([
    ['tok', parseSecretFlag(`id=tok,src=${join(dir, 'token')}`, () => undefined)],
    ['pw', parseSecretFlag('id=pw,env=DEMO_PW', (n) => (n === 'DEMO_PW' ? 's3cr3t-env' : undefined))],
  ]);
  const r = await step('cat /run/secrets/tok; echo; stat -c %a /run/secrets/tok; echo "$PW"; cp /run/secrets/tok /leak 2>/dev/null; true', [mount('type=secret,id=tok'), mount('type=secret,id=pw,env=PW')], secrets);
  assert.deepEqual(r.out.slice(0, 3), ['s3cr3t-file', '400', 's3cr3t-env']);
  assert.doesNotMatch(r.listing, /run\/secrets/);
  await assert.rejects(step('true', [mount('type=secret,id=absent,required=true')]), /secret absent is required/);
  const optional = await step('test -e /run/secrets/absent && echo present || echo absent', [mount('type=secret,id=absent')]);
  assert.deepEqual(optional.out, ['absent']);
});

test('bind mounts read the context read-only; rw writes are discarded; sources never leave the context', async () => {
  const ro = await step('cat /src/main.c; touch /src/new 2>/dev/null && echo writable || echo read-only', [mount('type=bind,source=src,target=/src')]);
  assert.deepEqual(ro.out, ['int main(){}', 'read-only']);
  const rw = await step('echo changed > /src/main.c && cat /src/main.c', [mount('type=bind,source=src,target=/src,rw')]);
  assert.deepEqual(rw.out, ['changed']);
  assert.equal(await readFile(join(contextDir, 'src', 'main.c'), 'utf8'), 'int main(){}\n', 'the context is untouched');
  assert.doesNotMatch(rw.listing, /main\.c/);
  await assert.rejects(step('true', [mount('type=bind,source=../../../etc,target=/x')]), /does not exist in the build context/);
  const mounts = await readFile('/proc/mounts', 'utf8');
  assert.doesNotMatch(mounts, new RegExp(root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
});

test('tmpfs mounts are tmpfs and leave nothing behind', async () => {
  const r = await step('grep " /scratch " /proc/mounts | cut -d" " -f3; echo data > /scratch/f', [mount('type=tmpfs,target=/scratch,size=1m')]);
  assert.deepEqual(r.out, ['tmpfs']);
  assert.doesNotMatch(r.listing, /scratch\/f/);
});

test('ssh mounts and cache from= are refused with a clear message', async () => {
  await assert.rejects(step('true', [mount('type=ssh')]), /type=ssh is not supported/);
  await assert.rejects(step('true', [mount('type=cache,target=/c,from=other')]), /from= or source= is not supported/);
});
