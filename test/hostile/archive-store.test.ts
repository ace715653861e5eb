/**
 * The rest of the archive hardening, each with a hostile input built here: fsck finds a snapshot
 * that is not what its chain ID says; the tar reader reads device and FIFO entries as header-only
 * (as Go's archive/tar), so nothing hides behind them; save and build -o name a missing output
 * directory; a killed save's temp file is swept; import refuses an empty file; ADD of a tar keeps
 * `.wh.` names from deleting files and refuses a FIFO.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { requireRoot } from '../helpers/busybox.js';
import { isTarArchive, readTar, encodeHeader, endOfArchive, paddingFor } from '../../src/layer/index.js';
import { isUserError } from '../../src/util/index.js';
import { openStore } from '../../src/store/index.js';
import { openSnapshots } from '../../src/snapshot/index.js';
import type { Sha256 } from '../../src/hash/index.js';
import { gzipSync } from 'node:zlib';
import { assertRefused, assertStoreUnchanged, cli, diffIdOf, dockerMembers, LAYER, OTHER_LAYER, tarOf, withSizeField } from './archive-fixtures.js';

let tmp: string;
let wharf: ReturnType<typeof cli>;
let store: string;

before(async () => {
  requireRoot();
  tmp = await mkdtemp(join(tmpdir(), 'wharf-archive-store-'));
  store = join(tmp, 'store');
  wharf = cli(store);
  await writeFile(join(tmp, 'good.tar'), tarOf(dockerMembers({ layers: [LAYER, OTHER_LAYER], tag: 'good:1' })));
  const r = wharf(['load', '-i', join(tmp, 'good.tar')]);
  assert.equal(r.status, 0, r.stderr);
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const hex = (d: string) => d.slice('sha256:'.length);

test('fsck reports a snapshot whose record or blob does not match its chain ID, naming it', async () => {
  assert.equal(wharf(['fsck']).status, 0);
  const snap = join(store, 'snapshots', hex(diffIdOf(LAYER)));
  const record = await readFile(join(snap, 'layer'), 'utf8');
  const blob = await readFile(join(snap, 'blob'), 'utf8');
  // 1. The record claims another diff_id (so the name no longer follows from it).
  await writeFile(join(snap, 'layer'), JSON.stringify({ diffId: diffIdOf(OTHER_LAYER), parent: null }));
  let f = wharf(['fsck']);
  assert.equal(f.status, 1, f.stdout);
  assert.match(f.stdout, new RegExp(`snapshot: snapshot ${diffIdOf(LAYER)}: its recorded diff_id ${diffIdOf(OTHER_LAYER)}`));
  await writeFile(join(snap, 'layer'), record);
  // 2. The snapshot says it was made from another layer's blob.
  const top = (await readdir(join(store, 'snapshots'))).find((n) => /^[0-9a-f]{64}$/.test(n) && n !== hex(diffIdOf(LAYER)))!;
  const otherBlob = await readFile(join(store, 'snapshots', top, 'blob'), 'utf8');
  await writeFile(join(snap, 'blob'), otherBlob);
  f = wharf(['fsck']);
  assert.equal(f.status, 1, f.stdout);
  assert.match(f.stdout, new RegExp(`snapshot ${diffIdOf(LAYER)}: was made from layer blob ${otherBlob.trim()}, whose diff_id is ${diffIdOf(OTHER_LAYER)}, not ${diffIdOf(LAYER)}`));
  // 3. A snapshot without a record (older wharf) is checked against the images that name it.
  await rm(join(snap, 'layer'));
  f = wharf(['fsck']);
  assert.equal(f.status, 1, f.stdout);
  assert.match(f.stdout, new RegExp(`snapshot ${diffIdOf(LAYER)}: was made from`));
  await writeFile(join(snap, 'blob'), blob);
  await writeFile(join(snap, 'layer'), record);
  assert.equal(wharf(['fsck']).status, 0);
});

test('the tar reader reads char, block and FIFO entries as header-only, whatever their size field', async () => {
  // What a reader that honoured the size would skip as "data": a whole file entry.
  const hidden = Buffer.concat([encodeHeader({ path: 'hidden', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, mtime: 0 }), Buffer.from('abc'), paddingFor(3)]);
  for (const type of ['char', 'block', 'fifo'] as const) {
    const dev = withSizeField(encodeHeader({ path: `dev-${type}`, type, mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, devmajor: 1, devminor: 3 }), hidden.length);
    const names: string[] = [];
    for await (const e of readTar(Readable.from([Buffer.concat([dev, hidden, endOfArchive()])]))) {
      names.push(e.path);
      if (e.path === 'hidden') assert.equal(Buffer.concat(await collect(e.body)).toString(), 'abc');
      else assert.equal(e.size, 0);
    }
    assert.deepEqual(names, [`dev-${type}`, 'hidden'], type);
  }
});

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(Buffer.from(c));
  return out;
}

test('save -o and build -o type=tar into a missing directory: a clear error naming the path', async () => {
  assertRefused(wharf(['save', '-o', '/nonexistent-wharf-dir/x.tar', 'good:1']), /cannot write \/nonexistent-wharf-dir\/x\.tar: directory \/nonexistent-wharf-dir does not exist/);
  const ctx = join(tmp, 'ctx-out');
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, 'Dockerfile'), 'FROM good:1\n');
  for (const type of ['tar', 'oci', 'docker']) {
    assertRefused(wharf(['build', '--progress', 'plain', '-o', `type=${type},dest=/nonexistent-wharf-dir/x.tar`, ctx]), /cannot write \/nonexistent-wharf-dir\/x\.tar: directory \/nonexistent-wharf-dir does not exist/);
  }
});

test('a save killed mid-write leaves a temp file that the next save to that directory sweeps (dead pids only)', async () => {
  const out = join(tmp, 'out');
  await mkdir(out, { recursive: true });
  // A real killed save: SIGKILL once its temp file exists.
  const child = spawn(process.execPath, [join(process.cwd(), 'bin', 'wharf.js'), '--root', store, 'save', '-o', join(out, 'a.tar'), 'good:1'], { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  let temps: string[] = [];
  while (Date.now() < deadline && child.exitCode === null) {
    temps = (await readdir(out)).filter((n) => n.startsWith('.a.tar.tmp-'));
    if (temps.length) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  // If the save won the race, plant what it would have left (same name pattern, a pid now dead).
  const deadName = temps[0] ?? `.a.tar.tmp-${child.pid}-0123456789ab`;
  if (!existsSync(join(out, deadName))) await writeFile(join(out, deadName), 'partial');
  const liveName = `.b.tar.tmp-${process.pid}-0123456789ab`; // ours, alive: kept
  const otherName = '.c.tar.tmp-notapid-x'; // not our pattern: kept
  await writeFile(join(out, liveName), 'x');
  await writeFile(join(out, otherName), 'x');
  const r = wharf(['save', '-o', join(out, 'a.tar'), 'good:1']);
  assert.equal(r.status, 0, r.stderr);
  const left = (await readdir(out)).sort();
  assert.deepEqual(left, [liveName, otherName, 'a.tar'].sort());
});

test('import of an empty file (or a FIFO) is refused and creates no image', async () => {
  const before = wharf(['images']).stdout;
  await writeFile(join(tmp, 'empty.tar'), '');
  assertRefused(wharf(['import', join(tmp, 'empty.tar'), 'empty:1']), /empty\.tar is empty, not a tarball/);
  execFileSync('mkfifo', [join(tmp, 'import.fifo')]);
  assertRefused(wharf(['import', join(tmp, 'import.fifo'), 'fifo:1'], 20_000), /import\.fifo: is a FIFO/);
  assertStoreUnchanged(wharf, before);
});

test('ADD of a local tar: .wh. names delete nothing in the final image; a FIFO source neither hangs nor is read as an archive', async () => {
  const ctx = join(tmp, 'ctx-add');
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, 'keep'), 'kept\n');
  await writeFile(join(ctx, 't.tar'), tarOf([
    { path: 'new', content: 'new\n' },
    { path: '.wh.keep', content: '' },
    { path: 'sub', type: 'dir' },
    { path: 'sub/.wh..wh..opq', content: '' },
  ]));
  await writeFile(join(ctx, 'Dockerfile'), 'FROM good:1\nCOPY keep /data/keep\nCOPY keep /data/sub/keep2\nADD t.tar /data/\n');
  const out = join(tmp, 'add-out');
  const r = wharf(['build', '--progress', 'plain', '-t', 'add:1', '-o', `type=local,dest=${out}`, ctx]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(await readFile(join(out, 'data', 'keep'), 'utf8'), 'kept\n');
  assert.equal(await readFile(join(out, 'data', 'sub', 'keep2'), 'utf8'), 'kept\n');
  assert.equal(await readFile(join(out, 'data', 'new'), 'utf8'), 'new\n');
  assert.equal(existsSync(join(out, 'data', '.wh.keep')), false);

  const fctx = join(tmp, 'ctx-fifo');
  await mkdir(fctx, { recursive: true });
  execFileSync('mkfifo', [join(fctx, 'x.tar')]);
  await writeFile(join(fctx, 'Dockerfile'), 'FROM good:1\nADD x.tar /x/\n');
  // Not a regular file, so never read as an archive (whether COPY rules then copy or refuse a FIFO
  // is COPY's business): what matters here is no hang and no stack trace.
  const f = wharf(['build', '--progress', 'plain', fctx], 30_000);
  assert.equal(f.signal, null, 'the build hung on the FIFO');
  assert.doesNotMatch(f.stderr, /\n\s+at /);
  // The archive test itself refuses what is not a regular file (a FIFO swapped in after the
  // context walk, a device) at once instead of blocking or reading forever.
  for (const p of [join(fctx, 'x.tar'), '/dev/zero']) {
    await assert.rejects(isTarArchive(p, 'ADD source x.tar'), (e: unknown) => {
      assert.ok(isUserError(e), String(e));
      assert.match(e.message, /^ADD source x\.tar: is a (FIFO|character device)/);
      return true;
    });
  }
});

test('a snapshot is never unpacked from a blob whose content is not its diff_id (the path pulls share)', async () => {
  const root = join(tmp, 'snapstore');
  const s = await openStore(root);
  const blob = await s.putBytes(gzipSync(OTHER_LAYER));
  const snaps = openSnapshots(root, s);
  const descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blob.digest, size: blob.size };
  await assert.rejects(snaps.prepare([{ descriptor, diffId: diffIdOf(LAYER) as Sha256 }]), (e: unknown) => {
    assert.ok(isUserError(e), String(e));
    assert.equal(e.code, 'layer.diff-id-mismatch');
    assert.match(e.message, new RegExp(`layer ${blob.digest}: content does not match its diff_id ${diffIdOf(LAYER)}`));
    return true;
  });
  assert.deepEqual((await readdir(join(root, 'snapshots'))).filter((n) => n !== 'l'), [], 'a snapshot (or its temp dir) was left');
  // The right diff_id unpacks, and records what the chain ID was made from.
  const [fs] = await snaps.prepare([{ descriptor, diffId: diffIdOf(OTHER_LAYER) as Sha256 }]);
  assert.equal(await readFile(join(fs!, 'etc', 'hello'), 'utf8'), 'EVIL layer\n');
  const { diffId, parent } = JSON.parse(await readFile(join(fs!, '..', 'layer'), 'utf8')) as { diffId: string; parent: null };
  assert.deepEqual({ diffId, parent }, { diffId: diffIdOf(OTHER_LAYER), parent: null });
});
