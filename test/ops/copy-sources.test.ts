import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { walkContext } from '../../src/context/index.js';
import { selectContext, selectStage, type Selection, type SourceSpec } from '../../src/ops/copy/sources.js';
import { UserError } from '../../src/util/index.js';

// Source selection for COPY/ADD: --exclude and --parents on the layouts of BuildKit's
// exclude_patterns_test.go and dockerfile_parents_test.go, for the context and for a stage's tree.
let dir: string;

async function tree(name: string, files: readonly string[]): Promise<string> {
  const root = join(dir, name);
  for (const f of files) {
    if (f.endsWith('/')) await mkdir(join(root, f), { recursive: true });
    else {
      await mkdir(join(root, f, '..'), { recursive: true });
      await writeFile(join(root, f), f);
    }
  }
  return root;
}

/** What lands under dest: a directory root's contents by relative path, anything else by name. */
function landed(sel: Selection): string[] {
  return sel.roots.flatMap((r) => (r.items[0]!.type === 'dir' ? r.items.slice(1).map((i) => i.rel) : [r.name])).sort();
}

const spec = (sources: string[], more: Partial<SourceSpec> = {}): SourceSpec => ({ sources, parents: false, exclude: [], label: 'COPY', ...more });
const inContext = async (root: string, s: SourceSpec) => selectContext(root, await walkContext(root), s);

const EXCLUDE_TREE = ['dir1/file-101.png', 'dir1/file-102.txt', 'dir1/file-103.jpeg', 'dir2/file-201.pdf', 'dir2/file-202.jpeg', 'dir2/file-203.png', 'dir3/file-301.mp3', 'dir3/file-302.mpeg'];
const PARENTS_TREE = ['test/a/b/c/d/e/bay', 'test/a/b/c/d/foo', 'test/a/b2/c/d/e/bar', 'test/a/b/c2/d/e/baz', 'test/a/b/c2/d/e2/baz'];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-copysrc-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('--exclude: patterns match below each copied directory, repeatable, and leave the key too', async () => {
  const root = await tree('ex', EXCLUDE_TREE);
  const images = await inContext(root, spec(['.'], { exclude: ['*/*.png', '*/*.jpeg'] }));
  assert.deepEqual(landed(images), ['dir1', 'dir1/file-102.txt', 'dir2', 'dir2/file-201.pdf', 'dir3', 'dir3/file-301.mp3', 'dir3/file-302.mpeg']);
  assert.ok(!images.entries.some((e) => e.path.endsWith('.png')), 'excluded files are not digested');
  assert.deepEqual(landed(await inContext(root, spec(['dir3/'], { exclude: ['*.mp3'] }))), ['file-302.mpeg']);
  const wild = await inContext(root, spec(['dir*'], { exclude: ['*.mp3', '*.jpeg', '*.png', '*.pdf', '*.txt'] }));
  assert.deepEqual(landed(wild), ['file-302.mpeg']);
  assert.deepEqual(landed(await inContext(root, spec(['dir*'], { exclude: ['*'] }))), []);
  // A wildcard's match is tested by its own name; `!` re-includes as in .dockerignore.
  assert.deepEqual(landed(await inContext(root, spec(['dir1/*'], { exclude: ['*.png', '*.jpeg'] }))), ['file-102.txt']);
  assert.deepEqual(landed(await inContext(root, spec(['dir1'], { exclude: ['*', '!*.txt'] }))), ['file-102.txt']);
  assert.throws(() => selectContext(root, [], spec(['.'], { exclude: ['[z-a'] })), (e: unknown) => e instanceof UserError && /--exclude=\[z-a/.test(e.message));
});

test('--parents keeps paths from the context root, or from a /./ pivot, with globs and **', async () => {
  const root = await tree('par', ['foo1/foo2/bar', 'foo1/foo2/baz', 'other/x', ...PARENTS_TREE]);
  const p = (sources: string[]) => inContext(root, spec(sources, { parents: true }));
  assert.deepEqual(landed(await p(['foo1/foo2/bar'])), ['foo1', 'foo1/foo2', 'foo1/foo2/bar']);
  assert.deepEqual(landed(await p(['foo1/foo2/ba*'])), ['foo1', 'foo1/foo2', 'foo1/foo2/bar', 'foo1/foo2/baz']);
  assert.deepEqual(landed(await p(['test/a/b/./c/d'])), ['c', 'c/d', 'c/d/e', 'c/d/e/bay', 'c/d/foo']);
  assert.deepEqual(landed(await p(['test/a/./b/./c/d/e'])), ['b', 'b/c', 'b/c/d', 'b/c/d/e', 'b/c/d/e/bay']);
  assert.deepEqual(landed(await p(['test/a/./*/c/d/e'])), ['b', 'b/c', 'b/c/d', 'b/c/d/e', 'b/c/d/e/bay', 'b2', 'b2/c', 'b2/c/d', 'b2/c/d/e', 'b2/c/d/e/bar']);
  assert.deepEqual(landed(await p(['test/a/b*/./c/**/e'])).filter((x) => x.endsWith('/e') || x.includes('/e/')), ['c/d/e', 'c/d/e', 'c/d/e/bar', 'c/d/e/bay']);
  const both = await inContext(root, spec(['test/a/b/c*/./d/**/baz'], { parents: true, exclude: ['**/e2'] }));
  assert.deepEqual(landed(both), ['d', 'd/e', 'd/e/baz']);
  assert.throws(() => selectContext(root, [], spec(['foo1/missing'], { parents: true })), /"foo1\/missing" not found in the build context/);
  assert.deepEqual(landed(await p(['foo1/nomatch*'])), [], 'an unmatched wildcard copies nothing');
});

test('a stage tree: wildcards, --parents and --exclude, symlinks resolved inside the root', async () => {
  const root = await tree('stage', [...PARENTS_TREE, 'usr/lib/libx.so.1', 'usr/lib/liby.so.1', 'usr/lib/notes.txt', 'etc/']);
  await symlink('/usr/lib', join(root, 'lib'));
  await symlink('/usr/lib/libx.so.1', join(root, 'usr/lib/libz.so'));
  // A matched symlink is followed inside the root, even through a symlinked directory.
  const linked = await selectStage(root, spec(['/lib/*.so']));
  assert.deepEqual(landed(linked), ['libz.so']);
  assert.deepEqual([linked.roots[0]!.items[0]!.type, linked.roots[0]!.items[0]!.abs], ['file', join(root, 'usr/lib/libx.so.1')]);
  assert.deepEqual(landed(await selectStage(root, spec(['/usr/lib/*.so.*']))), ['libx.so.1', 'liby.so.1']);
  assert.deepEqual(landed(await selectStage(root, spec(['/lib/lib?.so.1'], { exclude: ['liby*'] }))), ['libx.so.1']);
  const viaLink = await selectStage(root, spec(['/lib'], { exclude: ['*.txt'] }));
  assert.deepEqual(landed(viaLink), ['libx.so.1', 'liby.so.1', 'libz.so'], 'inside a copied directory a symlink stays a symlink');
  assert.equal(viaLink.roots[0]!.items[0]!.abs, join(root, 'usr/lib'), 'the named symlink is followed inside the root');
  assert.equal(viaLink.roots[0]!.items.find((i) => i.rel === 'libz.so')!.type, 'symlink');
  assert.deepEqual(landed(await selectStage(root, spec(['/test/a/b/c/d/.'], { parents: true }))), ['test', 'test/a', 'test/a/b', 'test/a/b/c', 'test/a/b/c/d', 'test/a/b/c/d/e', 'test/a/b/c/d/e/bay', 'test/a/b/c/d/foo']);
  assert.deepEqual(landed(await selectStage(root, spec(['/test/a/b*/./c/**/bar'], { parents: true }))), ['c', 'c/d', 'c/d/e', 'c/d/e/bar']);
  await assert.rejects(selectStage(root, spec(['/nothing/*.so'])), /"\/nothing\/\*\.so" not found in the source stage/);
  await assert.rejects(selectStage(root, spec(['/test/a/./zz'], { parents: true })), /not found in the source stage/);
});
