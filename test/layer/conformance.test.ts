/**
 * Whiteout conformance: umoci's unpack whiteout cases and moby go-archive's layered apply, run
 * against the plain-form applier (layers stacked into one tree, deletions done on disk).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { applyLayer } from '../../src/layer/index.js';
import { isUserError } from '../../src/util/index.js';
import { conformanceDir } from '../helpers/paths.js';
import { reportConformance } from '../helpers/report.js';
import { applyBuffer, listTree, makeTar, type SpecEntry } from './tree.js';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'wharf-layer-conf-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});
let counter = 0;
const freshDir = async (): Promise<string> => {
  const d = join(tmp, String(counter++));
  await mkdir(d);
  return d;
};

interface WhiteoutCase { name: string; path: string; dir: boolean; expectedErr: string | null }
interface OpaqueEntry { path: string; type: string; linkname: string | null; upper: boolean; shouldSurvive: boolean }
interface OpaqueCase { name: string; entries: OpaqueEntry[] }
const umoci = JSON.parse(readFileSync(join(conformanceDir, 'oci', 'umoci', 'whiteout_cases.json'), 'utf8')) as {
  TestUnpackEntryWhiteout: { cases: WhiteoutCase[] };
  TestUnpackOpaqueWhiteout: { cases: OpaqueCase[] };
};

test('umoci TestUnpackEntryWhiteout', async () => {
  const cases = umoci.TestUnpackEntryWhiteout.cases;
  let passed = 0;
  for (const c of cases) {
    const root = await freshDir();
    // Go's filepath.Split: everything up to the last slash, and the rest.
    const slash = c.path.lastIndexOf('/');
    const [dir, base] = [c.path.slice(0, slash + 1), c.path.slice(slash + 1)];
    const parent = join(root, dir);
    await mkdir(parent, { recursive: true });
    if (base !== '') {
      if (c.dir) {
        await mkdir(join(root, c.path, '.subdir'), { recursive: true });
        for (const f of ['file1', 'file2', '.subdir/file3']) await writeFile(join(root, c.path, f), f);
      } else await writeFile(join(root, c.path), 'x');
    }
    const stamp = new Date('2001-02-03T04:05:06Z');
    await utimes(parent, stamp, stamp);
    const tar = makeTar([{ path: `${dir}.wh.${base}`, type: 'file' }]);
    try {
      await applyBuffer(tar, root);
      assert.equal(c.expectedErr, null, `${c.name}: expected an error`);
      await assert.rejects(lstat(join(root, c.path)), `${c.name}: ${c.path} still exists`);
      assert.equal((await lstat(parent)).mtime.getTime(), stamp.getTime(), `${c.name}: parent mtime changed`);
      passed++;
    } catch (e) {
      if (c.expectedErr !== null && isUserError(e) && e.code === 'layer.invalid-whiteout') passed++;
      else assert.fail(`${c.name}: ${String(e)}`);
    }
  }
  reportConformance('umoci/whiteout_cases TestUnpackEntryWhiteout', passed, cases.length);
  assert.equal(passed, cases.length);
});

function specOf(e: OpaqueEntry): SpecEntry {
  const path = `test-subdir/${e.path}`;
  switch (e.type) {
    case 'TypeDir':
      return { path, type: 'dir' };
    case 'TypeSymlink':
      return { path, type: 'symlink', linkname: e.linkname ?? '' };
    case 'TypeFifo':
      return { path, type: 'fifo' };
    default:
      return { path, type: 'file', content: 'contents' };
  }
}

test('umoci TestUnpackOpaqueWhiteout (marker after and before the upper entries)', async () => {
  const cases = umoci.TestUnpackOpaqueWhiteout.cases;
  let passed = 0;
  for (const c of cases) {
    for (const markerFirst of [false, true]) {
      const root = await freshDir();
      const lower = c.entries.filter((e) => !e.upper).map(specOf);
      const upper = c.entries.filter((e) => e.upper).map(specOf);
      const marker: SpecEntry = { path: 'test-subdir/.wh..wh..opq', type: 'file' };
      await applyBuffer(makeTar([{ path: 'test-subdir', type: 'dir' }, ...lower]), root);
      await applyBuffer(makeTar(markerFirst ? [marker, ...upper] : [...upper, marker]), root);
      for (const e of c.entries) {
        if (e.path.split('/').pop()!.startsWith('.wh.')) continue;
        const present = await lstat(join(root, 'test-subdir', e.path)).then(() => true, () => false);
        assert.equal(present, e.shouldSurvive, `${c.name} (marker ${markerFirst ? 'first' : 'last'}): ${e.path}`);
      }
      assert.ok((await lstat(join(root, 'test-subdir'))).isDirectory());
      if (!c.entries.some((e) => e.upper)) assert.deepEqual(await listTree(join(root, 'test-subdir')), []);
    }
    passed++;
  }
  reportConformance('umoci/whiteout_cases TestUnpackOpaqueWhiteout', passed, cases.length);
  assert.equal(passed, cases.length);
});

interface GoLayer { change: string[]; expectedAfter: string[] }
const goArchive = JSON.parse(readFileSync(join(conformanceDir, 'oci', 'go-archive', 'layer_cases.json'), 'utf8')) as {
  TestApplyLayerWhiteouts: { layers: GoLayer[] };
};

test('go-archive TestApplyLayerWhiteouts', async () => {
  const layers = goArchive.TestApplyLayerWhiteouts.layers;
  const root = await freshDir();
  let passed = 0;
  for (const [i, layer] of layers.entries()) {
    // archive.Tar walks the layer dir lexically; whiteouts are literal files in it.
    const entries: SpecEntry[] = [...layer.change].sort().map((c) =>
      c.endsWith('/') ? { path: c.slice(0, -1), type: 'dir', mode: 0o700 } : { path: c, type: 'file', mode: 0o600 },
    );
    await applyBuffer(makeTar(entries), root);
    assert.deepEqual(await listTree(root), layer.expectedAfter, `after layer ${i}`);
    passed++;
  }
  reportConformance('go-archive/layer_cases TestApplyLayerWhiteouts', passed, layers.length);
  assert.equal(passed, layers.length);
});

test('with whiteouts: literal, .wh. entries are ordinary files (ADD of a tar that is not a layer)', async () => {
  const root = await freshDir();
  await writeFile(join(root, 'x'), 'x');
  const tar = makeTar([{ path: '.wh.x', type: 'file', content: 'w' }, { path: '.wh..wh..opq', type: 'file' }]);
  await applyLayer(Readable.from([tar]), root, { form: 'plain', whiteouts: 'literal' });
  assert.deepEqual(await listTree(root), ['.wh..wh..opq', '.wh.x', 'x']);
});
