import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

// `wharf build --explain` (issue 19, "Advice"): each rule on a Dockerfile that exhibits it, and on
// one that does not. The advice comes from the build's misses against the previous build of the
// same target, so every test builds once to have that baseline.
const suite = busyboxStoreForFile('wharf-advice-');

interface Advice {
  rule: string;
  lines: number[];
  text: string;
  name?: string;
  moveBelow?: number;
  keeps?: number;
  files?: string[];
}

async function build(ctx: string, extra: string[] = []): Promise<{ stderr: string; advice: Advice[] | undefined }> {
  const metaFile = join(suite.dir, `meta-${Math.random().toString(36).slice(2)}.json`);
  const r = suite.env.wharf(['build', '--progress', 'plain', '--metadata-file', metaFile, ...extra, ctx]);
  assert.equal(r.status, 0, r.stderr);
  const meta = JSON.parse(await readFile(metaFile, 'utf8')) as { 'wharf.advice'?: Advice[] };
  return { stderr: r.stderr, advice: meta['wharf.advice'] };
}
const explain = (ctx: string, extra: string[] = []) => build(ctx, ['--explain', ...extra]);
const ofRule = (advice: Advice[] | undefined, rule: string) => (advice ?? []).filter((a) => a.rule === rule);

test('an ARG declared above steps that do not use it: move it below the line before its first user', async () => {
  const ctx = await suite.env.context('arg-early', {
    Dockerfile: 'FROM busybox:test\nARG VERSION=1\nRUN echo deps > /deps\nRUN echo build > /b\nRUN echo v=$VERSION > /v\nRUN echo done\n',
  });
  await build(ctx);
  const r = await explain(ctx, ['--build-arg', 'VERSION=2']);
  assert.deepEqual(ofRule(r.advice, 'arg-env-early'), [
    {
      rule: 'arg-env-early',
      lines: [2, 5],
      text: 'ARG VERSION (line 2) changed and re-ran 2 steps that do not use it (lines 3, 4); move it below line 4, just above line 5 (RUN), the first to use it, which keeps those 2 steps cached',
      name: 'VERSION',
      moveBelow: 4,
      keeps: 2,
    },
  ]);
  // Printed after the steps, before the summary; and no other rule fires on this build.
  assert.match(r.stderr, /\nadvice: lines 2, 5: ARG VERSION \(line 2\) changed and re-ran 2 steps[^\n]*\nwriting image /);
  assert.equal(r.advice!.length, 1);
});

test('an ENV whose edit re-runs steps, used only by a COPY much later (expansion counts as use)', async () => {
  const df = 'FROM busybox:test\nENV DIR=a\nRUN echo one > /1\nRUN echo two > /2\nCOPY x.txt /${DIR}/\nRUN ls /$DIR\n';
  const ctx = await suite.env.context('env-early', { Dockerfile: df, 'x.txt': 'x\n' });
  await build(ctx);
  await writeFile(join(ctx, 'Dockerfile'), df.replace('DIR=a', 'DIR=b'));
  const r = await explain(ctx, ['--progress', 'json']);
  const [a] = ofRule(r.advice, 'arg-env-early');
  assert.ok(a, JSON.stringify(r.advice));
  assert.deepEqual([a.name, a.lines, a.moveBelow, a.keeps], ['DIR', [2, 5], 4, 2]);
  // --progress json carries the same list as one event.
  const events = r.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; advice?: Advice[] });
  assert.deepEqual(events.find((e) => e.type === 'advice')?.advice, r.advice);
});

test('no ARG advice when the ARG sits just above its first user, or without --explain', async () => {
  const ctx = await suite.env.context('arg-placed', {
    Dockerfile: 'FROM busybox:test\nRUN echo deps > /deps\nARG VERSION=1\nRUN echo v=$VERSION > /v\nRUN echo after\n',
  });
  await build(ctx);
  const r = await explain(ctx, ['--build-arg', 'VERSION=2']);
  assert.deepEqual(r.advice, []);
  assert.match(r.stderr, /\nadvice: none /);
  const quiet = await build(ctx, ['--build-arg', 'VERSION=3']);
  assert.equal(quiet.advice, undefined);
  assert.doesNotMatch(quiet.stderr, /advice/);
});

test('COPY . . before an install step: copy the manifests first, naming the changed files', async () => {
  const ctx = await suite.env.context('broad-copy', {
    Dockerfile: 'FROM busybox:test\nWORKDIR /app\nCOPY . .\nRUN echo install > /i\nRUN echo build > /b\n',
    'package.json': '{}\n',
    'src/app.txt': 'a\n',
  });
  await build(ctx);
  await writeFile(join(ctx, 'src/app.txt'), 'a edited\n');
  const r = await explain(ctx);
  assert.deepEqual(ofRule(r.advice, 'broad-copy'), [
    {
      rule: 'broad-copy',
      lines: [3, 4, 5],
      text: 'COPY . . (line 3) copies the whole context, so a change to any file re-runs the 2 steps after it (lines 4, 5; changed this time: src/app.txt); copy the manifests first (COPY package.json ./) and run the steps that need only them (the install), then COPY . ., so those steps re-run only when a manifest changes',
      files: ['src/app.txt'],
    },
  ]);
});

test('no COPY advice when the manifests are copied first and the whole context last', async () => {
  const ctx = await suite.env.context('manifests-first', {
    Dockerfile: 'FROM busybox:test\nWORKDIR /app\nCOPY package.json ./\nRUN echo install > /i\nCOPY . .\n',
    'package.json': '{}\n',
    'src/app.txt': 'a\n',
  });
  await build(ctx);
  await writeFile(join(ctx, 'src/app.txt'), 'a edited\n');
  const r = await explain(ctx);
  assert.match(r.stderr, /#5 cache miss: files: src\/app\.txt/);
  assert.deepEqual(r.advice, []);
});

test('a file that changed in each of the last 3 builds: add it to .dockerignore; 2 builds, or a pause, is not enough', async () => {
  const ctx = await suite.env.context('churn', {
    Dockerfile: 'FROM busybox:test\nCOPY . /src/\nRUN echo used\n',
    'main.txt': 'main\n',
    'stamp.txt': '0\n',
  });
  const stamp = (n: number) => writeFile(join(ctx, 'stamp.txt'), `${n}\n`);
  await build(ctx);
  await stamp(1);
  await build(ctx);
  await stamp(2);
  assert.deepEqual(ofRule((await explain(ctx)).advice, 'dockerignore'), [], 'two builds in a row are an edit loop, not churn');
  await stamp(3);
  const r = await explain(ctx);
  assert.deepEqual(ofRule(r.advice, 'dockerignore'), [
    {
      rule: 'dockerignore',
      lines: [2],
      text: 'stamp.txt changed in each of the last 3 builds, re-running COPY . /src/ (line 2) every time; if it is generated (a timestamp, build output), add /stamp.txt to .dockerignore',
      files: ['stamp.txt'],
    },
  ]);
  // A build in which it did not change starts the count again.
  await build(ctx);
  await stamp(4);
  await build(ctx);
  await stamp(5);
  assert.deepEqual(ofRule((await explain(ctx)).advice, 'dockerignore'), []);
});
