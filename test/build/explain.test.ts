import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { importBusyboxBase, writeContext } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

// Exact miss explanations (issue 19): each miss names what changed, against the previous build of
// the same target, in the progress output and in --metadata-file.
let dir: string;
let root: string;

const wharf = (args: string[]) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8' });

interface Step {
  instruction: string;
  cached: boolean;
  miss?: { kind: string; text: string };
}

async function build(ctx: string, extra: string[] = []): Promise<{ stderr: string; steps: Step[]; metaText: string }> {
  const metaFile = join(dir, `meta-${Math.random().toString(36).slice(2)}.json`);
  const r = wharf(['build', '--progress', 'plain', '--metadata-file', metaFile, ...extra, ctx]);
  assert.equal(r.status, 0, r.stderr);
  const metaText = await readFile(metaFile, 'utf8');
  return { stderr: r.stderr, steps: (JSON.parse(metaText) as { 'wharf.steps': Step[] })['wharf.steps'], metaText };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-explain-'));
  root = join(dir, 'store');
  importBusyboxBase(dir, root);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('an edited RUN line says the instruction changed, with its line and both texts', async () => {
  const df = 'FROM busybox:test\nWORKDIR /w\nRUN echo make\nRUN echo after\n';
  const ctx = await writeContext(dir, 'edited', { Dockerfile: df });
  await build(ctx);
  await writeFile(join(ctx, 'Dockerfile'), df.replace('RUN echo make', 'RUN echo make -j4'));
  const r = await build(ctx);
  assert.match(r.stderr, /#3 cache miss: instruction changed \(line 3\): RUN echo make {2}→ {2}RUN echo make -j4\n/);
  assert.match(r.stderr, /#4 cache miss: parent changed: #3 RUN echo make -j4 \(line 3\) missed\n/);
  assert.deepEqual(r.steps[2]!.miss, { kind: 'instruction', text: 'instruction changed (line 3): RUN echo make  →  RUN echo make -j4' });
  assert.equal(r.steps[3]!.miss?.kind, 'parent');
});

test('the baseline is the previous build of the target: a reverted edit is not named again', async () => {
  const ctx = await writeContext(dir, 'baseline', { Dockerfile: 'FROM busybox:test\nCOPY src/ ./src/\nRUN ls src\n', 'src/a': 'a\n', 'src/b': 'b\n' });
  await chmod(join(ctx, 'src/a'), 0o644);
  await build(ctx);
  await writeFile(join(ctx, 'src/b'), 'b edited\n');
  const edited = await build(ctx);
  assert.match(edited.stderr, /#2 cache miss: files: src\/b \(content: size 2 → 9\)\n/);
  await writeFile(join(ctx, 'src/b'), 'b\n');
  const reverted = await build(ctx);
  assert.ok(reverted.steps.every((s) => s.cached), 'the reverted context hits the first build');
  await chmod(join(ctx, 'src/a'), 0o755);
  const r = await build(ctx);
  assert.match(r.stderr, /#2 cache miss: files: src\/a \(metadata: mode 0644 → 0755\)\n/);
  assert.doesNotMatch(r.stderr, /src\/b/);
  assert.match(r.stderr, /#3 cache miss: parent changed: #2 COPY src\/ \.\/src\/ \(line 2\) missed\n/);
  assert.deepEqual(r.steps[1]!.miss, { kind: 'files', text: 'files: src/a (metadata: mode 0644 → 0755)' });
});

test('build args, env and --no-cache are named with their values; secret-looking values never appear', async () => {
  const df = 'FROM busybox:test\nARG VERSION=1\nARG API_TOKEN=none\nENV MODE=fast\nRUN echo $VERSION $MODE\n';
  const ctx = await writeContext(dir, 'args', { Dockerfile: df });
  await build(ctx);
  const arg = await build(ctx, ['--build-arg', 'VERSION=2']);
  assert.match(arg.stderr, /#2 cache miss: build arg VERSION: 1 → 2\n/);
  assert.deepEqual(arg.steps[1]!.miss, { kind: 'build-arg', text: 'build arg VERSION: 1 → 2' });

  const secret = await build(ctx, ['--build-arg', 'VERSION=2', '--build-arg', 'API_TOKEN=s3cr3t-value']);
  assert.match(secret.stderr, /#2 cache miss: build arg API_TOKEN: changed \(value not shown\)\n/);
  assert.doesNotMatch(secret.stderr + secret.metaText, /s3cr3t/);
  // Neither the cache records nor the build history (the explain data) keep the value.
  for (const sub of ['cache', 'cache/builds'])
    for (const name of await readdir(join(root, sub), { withFileTypes: true }))
      if (name.isFile()) assert.doesNotMatch(await readFile(join(root, sub, name.name), 'utf8'), /s3cr3t/, `${sub}/${name.name}`);

  await writeFile(join(ctx, 'Dockerfile'), df.replace('MODE=fast', 'MODE="very slow"'));
  const env = await build(ctx, ['--build-arg', 'VERSION=2', '--build-arg', 'API_TOKEN=s3cr3t-value']);
  assert.match(env.stderr, /#2 cache miss: env MODE: fast → "very slow"\n/);
  assert.equal(env.steps[1]!.miss?.kind, 'env');

  const forced = await build(ctx, ['--no-cache', '--build-arg', 'VERSION=2', '--build-arg', 'API_TOKEN=s3cr3t-value']);
  assert.deepEqual(forced.steps[1]!.miss, { kind: 'no-cache', text: '--no-cache' });
});

test('a base image that moved is named with its old and new digests', async () => {
  const baseCtx = await writeContext(dir, 'base', { Dockerfile: 'FROM busybox:test\nRUN echo 1 > /v\n' });
  await build(baseCtx, ['-t', 'movingbase:1']);
  const ctx = await writeContext(dir, 'onbase', { Dockerfile: 'FROM movingbase:1\nRUN cat /v\n' });
  await build(ctx);
  await writeFile(join(baseCtx, 'Dockerfile'), 'FROM busybox:test\nRUN echo 2 > /v\n');
  await build(baseCtx, ['-t', 'movingbase:1']);
  const r = await build(ctx);
  assert.match(r.stderr, /#2 cache miss: base image changed: #1 FROM movingbase:1 \(line 1\) sha256:[0-9a-f]{12} → sha256:[0-9a-f]{12}\n/);
  assert.equal(r.steps[1]!.miss?.kind, 'base-image');
});

test('an inserted line is a new step, and the steps after it are compared with their own earlier selves', async () => {
  const ctx = await writeContext(dir, 'inserted', { Dockerfile: 'FROM busybox:test\nRUN echo one\nRUN echo two\n' });
  await build(ctx);
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox:test\nRUN echo zero\nRUN echo one\nRUN echo two\n');
  const r = await build(ctx);
  assert.match(r.stderr, /#2 cache miss: new step \(line 2\): RUN echo zero\n/);
  assert.match(r.stderr, /#3 cache miss: parent changed: #2 RUN echo zero \(line 2\) missed\n/);
  assert.match(r.stderr, /#4 cache miss: parent changed: #3 RUN echo one \(line 3\) missed\n/);
  assert.doesNotMatch(r.stderr, /instruction changed/);
});
