// COPY and WORKDIR written straight into an upper dir (src/snapshot/direct-upper.ts) must give
// the layer an overlay mount gives, to the byte: each case is built both ways (fsWrite 'overlay'
// forces the mount) and the step's layers compared, with SOURCE_DATE_EPOCH (same diff_id) and
// without it (same tar headers, times of new entries aside). Where the direct write cannot show
// it gives the same result (a symlink on the way, a directory merging with one of the image), it
// must fall back to the mount: the counts say which way each step went.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, openStore as openImageStore } from '../../src/api/index.js';
import { openStore } from '../../src/store/index.js';
import { loadImage } from '../../src/image/index.js';
import { readTar } from '../../src/layer/index.js';
import { fsWriteCounts } from '../../src/ops/index.js';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';
import { mountPoints } from '../../src/util/index.js';
import { wharfBin } from '../helpers/paths.js';
import { writeContext } from '../helpers/wharf-build.js';

let dir: string;
let root: string;
let ctx: string;
/** Entries with a later time than this were made by the step under test. */
let started: number;
const EPOCH = 1_700_000_000;
const OLD = new Date('2000-01-01T00:00:00Z');
/** The time of every context file (copied files keep theirs). */
const CTX_TIME = Date.parse('2010-01-01T00:00:00Z') / 1000;

before(async () => {
  requireRoot();
  dir = await mkdtemp(join(tmpdir(), 'wharf-fs-direct-'));
  root = join(dir, 'store');
  // A base whose directories are not what a copy would make: /app owned 1000:1000, mode 0750,
  // an old mtime and a user xattr; a symlinked directory; and (below, from RUN) a whiteout and an
  // opaque directory in the top layer.
  const rootfs = join(dir, 'rootfs');
  makeBusyboxRootfs(rootfs);
  await mkdir(join(rootfs, 'app/sub'), { recursive: true });
  await writeFile(join(rootfs, 'app/existing.txt'), 'old\n');
  await mkdir(join(rootfs, 'srv/data'), { recursive: true });
  await symlink('/srv/data', join(rootfs, 'linkdir'));
  await mkdir(join(rootfs, 'opt/gone/x'), { recursive: true });
  await mkdir(join(rootfs, 'opt/opq/old'), { recursive: true });
  await chown(join(rootfs, 'app'), 1000, 1000);
  await chmod(join(rootfs, 'app'), 0o750);
  await chown(join(rootfs, 'app/sub'), 1000, 1000);
  await chmod(join(rootfs, 'app/sub'), 0o2770);
  execFileSync('setfattr', ['-n', 'user.wharf', '-v', 'base', join(rootfs, 'app')]);
  for (const p of ['app/sub', 'app', 'srv/data', 'srv', 'opt']) await utimes(join(rootfs, p), OLD, OLD);
  execFileSync('tar', ['--xattrs', '--xattrs-include=user.*', '-C', rootfs, '-cf', join(dir, 'base.tar'), '.']);
  execFileSync(process.execPath, [wharfBin, '--root', root, 'import', join(dir, 'base.tar'), 'fswd-base:1']);
  const baseCtx = await writeContext(dir, 'base2', {
    Dockerfile: 'FROM fswd-base:1\nRUN rm -rf /opt/gone /opt/opq && mkdir -p /opt/opq/new && touch -t 200001010000 /opt/opq /opt\n',
  });
  await build({ root, context: baseCtx, tags: ['fswd-base:2'], sourceDateEpoch: EPOCH });
  ctx = await writeContext(dir, 'ctx', {
    'f.txt': 'file\n', 'config/a.json': '{}\n', 'config/deep/b.txt': 'bee\n', 'src/main.sh': 'echo\n', 'src/sub/x.txt': 'x\n', 'tc/existing.txt/inner': 'i\n', 'only/sub/y.txt': 'y\n', 'only/opt/opq/z.txt': 'z\n',
  });
  await chmod(join(ctx, 'src/main.sh'), 0o755);
  await mkdir(join(ctx, 'empty'));
  // Copied files keep their times: fixed ones, so that only what a step makes is new.
  execFileSync('find', [ctx, '-exec', 'touch', '-h', '-d', '2010-01-01T00:00:00Z', '{}', '+']);
  started = Math.floor(Date.now() / 1000);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Header { path: string; type: string; mode: number; uid: number; gid: number; mtime: number | 'new'; size: number; linkname: string; xattrs: string }

/** Builds `body` on the base one way; the step's layer: diff_id and headers. */
async function buildOnce(body: string, fsWrite: 'direct' | 'overlay', epoch: boolean, from = 'fswd-base:2') {
  await writeFile(join(ctx, 'Dockerfile'), `FROM ${from}\n${body}\n`);
  const before = { ...fsWriteCounts };
  await build({ root, context: ctx, tags: ['fswd:case'], noCache: true, fsWrite, ...(epoch ? { sourceDateEpoch: EPOCH } : {}) });
  const counts = { direct: fsWriteCounts.direct - before.direct, mounted: fsWriteCounts.mounted - before.mounted };
  const store = await openStore(root);
  const img = await loadImage(store, 'fswd:case');
  const layer = img.manifest.layers.at(-1)!;
  const headers: Header[] = [];
  for await (const e of readTar(createReadStream(store.path(layer.digest)))) {
    for await (const _ of e.body) { /* drain */ }
    headers.push({
      path: e.path.replace(/\/$/, ''), type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, linkname: e.linkname,
      // Times of entries the step made differ between two builds without the clamp.
      mtime: !epoch && e.mtime >= started ? 'new' : e.mtime,
      xattrs: [...e.xattrs].map(([k, v]) => `${k}=${v.toString('hex')}`).join(','),
    });
  }
  return { diffId: img.config.rootfs.diff_ids.at(-1)!, headers, counts };
}

/** Both ways, with and without the epoch; returns the direct build's headers (epoch) for more checks. */
async function same(body: string, expect: 'direct' | 'mounted', from?: string): Promise<Header[]> {
  let clamped: Header[] = [];
  for (const epoch of [true, false]) {
    const viaMount = await buildOnce(body, 'overlay', epoch, from);
    const direct = await buildOnce(body, 'direct', epoch, from);
    assert.deepEqual(viaMount.counts, { direct: 0, mounted: 1 }, `${body}: the overlay build mounted`);
    assert.deepEqual(direct.counts, expect === 'direct' ? { direct: 1, mounted: 0 } : { direct: 0, mounted: 1 }, `${body}: written ${expect}`);
    assert.deepEqual(direct.headers, viaMount.headers, `${body} (epoch: ${epoch})`);
    if (epoch) {
      assert.equal(direct.diffId, viaMount.diffId, body);
      clamped = direct.headers;
    }
  }
  return clamped;
}

const paths = (h: Header[]) => h.map((e) => e.path);

test('WORKDIR: new, nested, existing, under a parent of another owner, as a named user', async () => {
  assert.deepEqual(paths(await same('WORKDIR /newdir', 'direct')), ['newdir']);
  assert.deepEqual(paths(await same('WORKDIR /a/b/c', 'direct')), ['a', 'a/b', 'a/b/c']);
  assert.deepEqual(await same('WORKDIR /app', 'direct'), [], 'an existing dir: an empty layer');
  assert.deepEqual(await same('WORKDIR /app/sub', 'direct'), []);
  const deeper = await same('WORKDIR /app/sub/deeper', 'direct');
  // The copied-up parents keep owner, mode and xattr; /app its old time, /app/sub got a child.
  assert.deepEqual(deeper.slice(0, 2).map((e) => [e.path, e.uid, e.gid, e.mode, e.mtime, e.xattrs]), [
    ['app', 1000, 1000, 0o750, OLD.getTime() / 1000, `user.wharf=${Buffer.from('base').toString('hex')}`],
    ['app/sub', 1000, 1000, 0o2770, EPOCH, ''],
  ]);
  const named = await same('USER app\nWORKDIR /home/app/work', 'direct');
  assert.deepEqual(named.map((e) => [e.path, e.uid, e.gid]), [['home', 1234, 2345], ['home/app', 1234, 2345], ['home/app/work', 1234, 2345]]);
});

test('COPY: into new dirs, into dirs of the base, over a file, --chown/--chmod, heredocs, FROM scratch', async () => {
  await same('COPY config/ /app2/config/', 'direct');
  await same('COPY config/ /app/config/', 'direct');
  await same('COPY src/ /app/src/', 'direct');
  await same('COPY f.txt /app/', 'direct');
  await same('COPY f.txt /app', 'direct');
  const over = await same('COPY f.txt /app/existing.txt', 'direct');
  assert.deepEqual(paths(over), ['app', 'app/existing.txt']);
  await same('COPY f.txt config/a.json /app/sub/', 'direct');
  await same('COPY --chown=1000:1000 --chmod=0640 f.txt /app/x/', 'direct');
  await same('COPY --chown=app:app src/ /srv/owned/', 'direct');
  await same('COPY --chmod=700 config/ /srv/data/', 'direct');
  await same('COPY f.txt /', 'direct');
  await same('COPY . /', 'direct');
  await same('COPY <<EOF /app/h.txt\nhello\nEOF', 'direct');
  await same('COPY empty/ /app/', 'direct');
  await same('COPY config/ /etc/conf/', 'direct', 'scratch');
});

test('COPY of directories the image has: they are copied up first, keeping owner and mode', async () => {
  const merged = await same('COPY src/ /app/', 'direct');
  assert.deepEqual(merged.find((e) => e.path === 'app/sub')?.uid, 1000);
  // Only a file in an existing subdirectory: its parent keeps its old time.
  const only = await same('COPY only/sub/ /app/sub/', 'direct');
  assert.deepEqual(only.map((e) => [e.path, e.mtime]), [['app', OLD.getTime() / 1000], ['app/sub', EPOCH], ['app/sub/y.txt', CTX_TIME]]);
  await same('COPY only/ /app/', 'direct');
  await same('COPY only/ /', 'direct');
  await same('COPY . /', 'direct');
});

test('COPY into a whiteout or an opaque dir of the top layer', async () => {
  await same('COPY config/ /opt/gone/', 'direct');
  await same('COPY config/ /opt/opq/', 'direct');
  await same('COPY config/ /opt/opq/old/', 'direct');
  await same('WORKDIR /opt/gone/x', 'direct');
});

test('a symlink on the way, a directory merging with one of the image, a type change: the mount', async () => {
  await same('COPY config/ /linkdir/conf/', 'mounted');
  await same('COPY f.txt /linkdir', 'mounted');
  await same('WORKDIR /linkdir/w', 'mounted');
  // COPY --from: its directories are not known beforehand, and /app/sub merges with the image's.
  await same('COPY --from=fswd-base:1 /app/ /app/', 'mounted');
  // A directory where the image has a file: the copy replaces it.
  await same('COPY tc/ /app/', 'mounted');
});

test('after both ways and every fallback: no temp dirs, no mounts, fsck clean', async () => {
  const tmp = await readdir(join(root, 'tmp')).catch(() => [] as string[]);
  assert.deepEqual(tmp.filter((n) => /fsdirect|fswrite|fsread/.test(n)), []);
  assert.deepEqual(mountPoints().filter((m) => m.startsWith(dir)), []);
  const report = await (await openImageStore(root)).fsck();
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.snapshotProblems, []);
});
