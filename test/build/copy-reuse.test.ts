import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { wharfBuildEnv, type BuildMeta } from '../helpers/wharf-build.js';
import { openStore } from '../../src/store/index.js';
import { loadImage } from '../../src/image/index.js';
import { forgetLineages } from '../../src/ops/index.js';
import { existsSync } from 'node:fs';

// Incremental COPY (src/ops/copy/reuse.ts): a context COPY that misses because files changed starts
// from its previous run's snapshot, linking what is unchanged. It must give exactly the layer a
// full copy gives, and never change the earlier image.
let dir: string;
let env: ReturnType<typeof wharfBuildEnv>;
const EPOCH = ['--build-arg', 'SOURCE_DATE_EPOCH=1000000'];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-copy-reuse-'));
  env = wharfBuildEnv(dir);
  env.importBusybox();
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const DOCKERFILE = `FROM busybox:test
WORKDIR /app
COPY . /app/
RUN cat /app/a.txt /app/sub/deep/c.txt > /out && stat -c '%a %u:%g' /app/run.sh >> /out
`;

const reusedLine = (stderr: string) => stderr.split('\n').find((l) => l.includes('reused'));
const imageId = (m: BuildMeta | undefined) => m!['containerimage.config.digest'];
const run = (image: string, ...cmd: string[]) => env.wharf(['run', image, ...cmd]);

/** The COPY layer's entries as GNU tar lists them (owner, mode, size, mtime, name), directories left out. */
async function copyLayerListing(tag: string): Promise<string[]> {
  const store = await openStore(env.root);
  const img = await loadImage(store, tag);
  const layer = img.manifest.layers.at(-2)!;
  return execFileSync('tar', ['-tv', '--full-time', '--numeric-owner', '-f', store.path(layer.digest)], { encoding: 'utf8' })
    .split('\n').filter((l) => l && !l.startsWith('d'));
}

test('a changed file is copied, the rest linked from the last run; the layer equals a full copy and the old image is untouched', async () => {
  const ctx = await env.context('reuse', {
    Dockerfile: DOCKERFILE, 'a.txt': 'one\n', 'sub/b.txt': 'bee\n', 'sub/deep/c.txt': 'sea\n', 'run.sh': '#!/bin/sh\necho run\n',
  });
  await chmod(join(ctx, 'run.sh'), 0o755);
  await symlink('a.txt', join(ctx, 'link'));

  const first = await env.build(ctx, ['-t', 'reuse:1', ...EPOCH]);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(reusedLine(first.stderr), undefined, 'nothing to start from on the first build');

  await writeFile(join(ctx, 'a.txt'), 'two\n');
  const second = await env.build(ctx, ['-t', 'reuse:2', ...EPOCH]);
  assert.equal(second.status, 0, second.stderr);
  // The four unchanged regular files' tar entries come out of the first layer, not the files.
  assert.match(reusedLine(second.stderr) ?? '', /reused 5 unchanged files from the previous run of this step \(4 of them straight from its layer\), copied 1/);
  assert.equal(run('reuse:2', 'cat', '/out').stdout, 'two\nsea\n755 0:0\n');
  assert.equal(run('reuse:2', 'readlink', '/app/link').stdout.trim(), 'a.txt');
  // The hard links did not reach back: the first image still has the first content.
  assert.equal(run('reuse:1', 'cat', '/app/a.txt').stdout, 'one\n');

  // --no-cache copies everything afresh, and the image is the same to the byte.
  const full = await env.build(ctx, ['-t', 'reuse:full', '--no-cache', ...EPOCH]);
  assert.equal(full.status, 0, full.stderr);
  assert.equal(reusedLine(full.stderr), undefined);
  assert.equal(imageId(full.meta), imageId(second.meta));

  // Without the epoch clamp too (a parent of its own: the epoch is in every key), every file entry
  // (owner, mode, size, mtime) matches a full copy.
  assert.equal((await env.build(ctx)).status, 0);
  await writeFile(join(ctx, 'sub/b.txt'), 'bumble\n');
  const unclamped = await env.build(ctx, ['-t', 'reuse:3']);
  assert.match(reusedLine(unclamped.stderr) ?? '', /copied 1/);
  assert.equal((await env.build(ctx, ['-t', 'reuse:3full', '--no-cache'])).status, 0);
  assert.deepEqual(await copyLayerListing('reuse:3'), await copyLayerListing('reuse:3full'));
});

test('a mode change is copied, added and removed files are handled in place, a file a lower layer has copies in full; each equals a full copy', async () => {
  const ctx = await env.context('reuse-fallback', {
    Dockerfile: `FROM busybox:test
RUN mkdir -p /app && echo lower > /app/lower.txt
COPY . /app/
RUN cat /app/a.txt /app/sub/deep/c.txt > /out && stat -c '%a %u:%g' /app/run.sh >> /out
`,
    'a.txt': 'one\n', 'sub/deep/c.txt': 'sea\n', 'run.sh': 'echo\n',
  });
  assert.equal((await env.build(ctx, EPOCH)).status, 0);
  /** Builds incrementally, then in full with --no-cache, and checks both give the same image. */
  const both = async (tag: string, reused: RegExp | undefined) => {
    const r = await env.build(ctx, ['-t', tag, ...EPOCH]);
    assert.equal(r.status, 0, r.stderr);
    if (reused) assert.match(reusedLine(r.stderr) ?? '', reused);
    else assert.equal(reusedLine(r.stderr), undefined, r.stderr);
    const full = await env.build(ctx, ['--no-cache', ...EPOCH]);
    assert.equal(imageId(full.meta), imageId(r.meta), `${tag}: the incremental copy differs from a full one`);
  };

  await chmod(join(ctx, 'run.sh'), 0o700);
  await both('fallback:mode', /reused 3 unchanged files .*, copied 1$/);
  assert.match(run('fallback:mode', 'cat', '/out').stdout, /^700 0:0$/m);

  await writeFile(join(ctx, 'new.txt'), 'new\n');
  await writeFile(join(ctx, 'sub', 'x.txt'), 'x\n');
  await both('fallback:added', /copied 2$/);
  assert.equal(run('fallback:added', 'cat', '/app/new.txt', '/app/sub/x.txt').stdout, 'new\nx\n');

  await rm(join(ctx, 'new.txt'));
  await rm(join(ctx, 'sub', 'deep'), { recursive: true });
  await writeFile(join(ctx, 'sub', 'deep.txt'), 'flat\n');
  await writeFile(join(ctx, 'Dockerfile'), (await readFile(join(ctx, 'Dockerfile'), 'utf8')).replace('/app/sub/deep/c.txt', '/app/sub/deep.txt'));
  // Copied: the Dockerfile and deep.txt; left out: new.txt and the sub/deep directory.
  await both('fallback:removed', /copied 2, left out 2 removed$/);
  assert.equal(run('fallback:removed', 'ls', '/app/new.txt').status, 1);
  assert.equal(run('fallback:removed', 'ls', '/app/sub/deep').status, 1);
  assert.equal(run('fallback:removed', 'cat', '/app/lower.txt', '/app/sub/deep.txt').stdout, 'lower\nflat\n');

  // lower.txt is in the layer below: writing it over that needs the full copy's merged view.
  await writeFile(join(ctx, 'lower.txt'), 'from the context\n');
  await both('fallback:lower', undefined);
  assert.equal(run('fallback:lower', 'cat', '/app/lower.txt').stdout, 'from the context\n');

  // The lineage file the store keeps for the step is valid JSON naming a layer.
  const lineageDir = join(env.root, 'cache', 'copy-lineage');
  const names = execFileSync('ls', [lineageDir], { encoding: 'utf8' }).split('\n').filter(Boolean);
  assert.ok(names.length >= 1);
  const lineage = JSON.parse(await readFile(join(lineageDir, names[0]!), 'utf8')) as { layer: { digest: string } };
  assert.match(lineage.layer.digest, /^sha256:[0-9a-f]{64}$/);
  // prune keeps a lineage whose layer is stored and collects one whose layer is gone.
  const stale = join(lineageDir, `${'0'.repeat(64)}.json`);
  await writeFile(stale, JSON.stringify({ ...lineage, layer: { ...lineage.layer, digest: `sha256:${'e'.repeat(64)}` } }));
  assert.equal(env.wharf(['prune']).status, 0);
  assert.ok(!existsSync(stale), 'a lineage of a missing layer is collected');
  assert.ok(existsSync(join(lineageDir, names[0]!)), 'a lineage of a stored layer stays');
  // A cold `wharf bench` run forgets the lineage with the layer, so the next COPY copies in full.
  assert.equal(await forgetLineages(env.root, new Set([lineage.layer.digest])), 1);
  assert.ok(!existsSync(join(lineageDir, names[0]!)));
});

test('a named --chown is kept by the files linked and the files copied; a dest reached through a symlink copies in full', async () => {
  const ctx = await env.context('reuse-owner', {
    Dockerfile: `FROM busybox:test
RUN mkdir /real && ln -s /real /link
COPY --chown=app conf/ /etc/app/
COPY conf/ /link/
RUN stat -c '%n %u:%g' /etc/app/a.conf /etc/app/b.conf > /owners && cat /real/a.conf >> /owners
`,
    'conf/a.conf': 'a=1\n', 'conf/b.conf': 'b=1\n',
  });
  assert.equal((await env.build(ctx)).status, 0);
  await writeFile(join(ctx, 'conf', 'a.conf'), 'a=2\n');
  const r = await env.build(ctx, ['-t', 'reuse:owner']);
  assert.equal(r.status, 0, r.stderr);
  const reused = r.stderr.split('\n').filter((l) => l.includes('reused'));
  // The --chown COPY starts from its last run; the one through /link cannot (its files are under
  // /real in the layer) and copies in full.
  assert.equal(reused.length, 1, r.stderr);
  assert.match(reused[0]!, /reused 1 unchanged files .* copied 1/);
  assert.equal(run('reuse:owner', 'cat', '/owners').stdout, '/etc/app/a.conf 1234:2345\n/etc/app/b.conf 1234:2345\na=2\n');
});

test('entries copied out of the previous layer are checked: a lineage whose offsets are wrong reads the files instead', async () => {
  const ctx = await env.context('reuse-splice', {
    Dockerfile: 'FROM busybox:test\nCOPY . /app/\n', 'a.txt': 'one\n', 'b.txt': 'bee\n', 'big.bin': Buffer.alloc(3 * 1024 * 1024 + 7, 'x').toString(),
  });
  assert.equal((await env.build(ctx, EPOCH)).status, 0);
  await writeFile(join(ctx, 'a.txt'), 'two\n');
  const spliced = await env.build(ctx, ['-t', 'splice:ok', ...EPOCH]);
  assert.match(reusedLine(spliced.stderr) ?? '', /\(3 of them straight from its layer\), copied 1/);
  assert.equal(run('splice:ok', 'md5sum', '/app/big.bin').stdout, execFileSync('md5sum', [join(ctx, 'big.bin')], { encoding: 'utf8' }).replace(join(ctx, 'big.bin'), '/app/big.bin'));

  // Every recorded entry moved by one block: no header there matches, so nothing is taken from it.
  const lineageDir = join(env.root, 'cache', 'copy-lineage');
  for (const name of execFileSync('ls', [lineageDir], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    const path = join(lineageDir, name);
    // Seven values per path: fingerprint, size, mtime, mode, then the span's inode, offset, length.
    const lineage = JSON.parse(await readFile(path, 'utf8')) as { files: (string | number)[] };
    for (let at = 5; at < lineage.files.length; at += 7) (lineage.files[at] as number) += 512;
    await writeFile(path, JSON.stringify(lineage));
  }
  await writeFile(join(ctx, 'a.txt'), 'three\n');
  const checked = await env.build(ctx, ['-t', 'splice:checked', ...EPOCH]);
  assert.equal(checked.status, 0, checked.stderr);
  assert.match(reusedLine(checked.stderr) ?? '', /reused 3 unchanged files from the previous run of this step, copied 1/);
  const full = await env.build(ctx, ['--no-cache', ...EPOCH]);
  assert.equal(imageId(full.meta), imageId(checked.meta));
  assert.equal(imageId(full.meta) === imageId(spliced.meta), false);
});

test('a lineage a crash emptied or cut short (they are written without fsync) is a miss: the COPY copies in full', async () => {
  const ctx = await env.context('reuse-torn', { Dockerfile: 'FROM busybox:test\nCOPY . /app/\n', 'a.txt': 'one\n', 'b.txt': 'bee\n' });
  assert.equal((await env.build(ctx)).status, 0);
  const lineageDir = join(env.root, 'cache', 'copy-lineage');
  const names = execFileSync('ls', [lineageDir], { encoding: 'utf8' }).split('\n').filter(Boolean);
  assert.ok(names.length >= 1);
  for (const [i, name] of names.entries()) {
    const path = join(lineageDir, name);
    await writeFile(path, i % 2 ? (await readFile(path, 'utf8')).slice(0, 40) : '');
  }
  await writeFile(join(ctx, 'a.txt'), 'two\n');
  const r = await env.build(ctx, ['-t', 'reuse:torn']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(reusedLine(r.stderr), undefined, 'nothing reused from a torn lineage');
  assert.equal(run('reuse:torn', 'cat', '/app/a.txt', '/app/b.txt').stdout, 'two\nbee\n');
});
