import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharfBin } from '../helpers/paths.js';

let dir = '';
const DOCKERFILE = [
  'ARG BASE=alpine',
  'FROM ${BASE}:3 AS base',
  'RUN apk add make',
  'FROM base AS build',
  'ARG VERSION=dev TARGETARCH',
  'WORKDIR /src/$VERSION/$TARGETARCH',
  'COPY . .',
  'RUN make',
  'FROM scratch AS final',
  'COPY --from=build /src/app /app',
  'CMD ["/app"]',
  '',
].join('\n');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-plan-'));
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(dir, 'Warn.Dockerfile'), 'FROM a\nMAINTAINER me\nCMD run it\n');
  writeFileSync(join(dir, 'Forward.Dockerfile'), 'FROM a\nCOPY --from=later / /\nFROM b AS later\n');
  writeFileSync(join(dir, 'Bad.Dockerfile'), 'FROM a\nCOPY --from=later / /\nRUN --network=bridge x\nFROM b AS later\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const wharf = (...args: string[]) => spawnSync(process.execPath, [wharfBin, ...args], { cwd: dir, encoding: 'utf8' });

test('wharf plan prints stages and steps after expansion', () => {
  const r = wharf('plan', '--build-arg', 'VERSION=1.2', '--build-arg', 'BASE=debian', '--platform', 'linux/arm64');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /stage 0 \(base\) from image debian:3/);
  assert.match(r.stdout, /WORKDIR \/src\/1\.2\/arm64/);
  assert.match(r.stdout, /COPY --from=build \/src\/app \/app .*copy-from stage 1 \(build\)/);
  assert.match(r.stdout, /\[target\]/);
});

test('wharf plan --target prunes and --format json is parseable', () => {
  const r = wharf('plan', '--target', 'build', '--format', 'json');
  assert.equal(r.status, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as {
    target: number;
    stages: { index: number; vertices: { kind: string; fsParent: string | null; op: Record<string, unknown>; context: Record<string, unknown> }[] }[];
  };
  assert.equal(plan.target, 1);
  assert.deepEqual(plan.stages.map((s) => s.index), [0, 1]);
  const build = plan.stages[1]!.vertices;
  assert.deepEqual(build.map((v) => v.kind), ['from', 'meta', 'workdir', 'copy', 'run']);
  assert.equal(build[2]!.fsParent, 's1v0', 'ARG between FROM and WORKDIR is not a filesystem parent');
  assert.deepEqual(build[3]!.op, { kind: 'COPY', sources: ['.'], contents: [], dest: '.', link: false, parents: false, exclude: [] });
  assert.deepEqual(build[4]!.context, { workdir: '/src/dev/amd64' });
  assert.deepEqual(build[4]!.op.command, { shell: 'make' });
});

test('wharf plan --format dot is accepted by Graphviz', () => {
  const r = wharf('plan', '--format', 'dot');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /"image:alpine:3" \[shape=ellipse/);
  const dot = spawnSync('dot', ['-Tsvg'], { input: r.stdout, encoding: 'utf8' });
  assert.equal(dot.status, 0, dot.stderr);
  assert.match(dot.stdout, /<svg/);
});

test('warnings are printed to stderr and do not fail the command', () => {
  const r = wharf('plan', '-f', 'Warn.Dockerfile');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Warn\.Dockerfile:2:1: warning: MAINTAINER instruction is deprecated/);
  assert.match(r.stderr, /Warn\.Dockerfile:3:5: warning: JSON arguments recommended for CMD/);
  assert.match(r.stdout, /CMD run it/);
});

test('errors are diagnostics with file:line:col and exit 1; an unknown target lists the stages', () => {
  const bad = wharf('plan', '-f', 'Bad.Dockerfile');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /Bad\.Dockerfile:3:15: error: unsupported network mode: bridge\n 3 \| RUN --network=bridge x\n   \|               \^{6}/);
  assert.doesNotMatch(bad.stderr, /at .*\.js/);
  const forward = wharf('plan', '-f', 'Forward.Dockerfile');
  assert.equal(forward.status, 1);
  assert.match(forward.stderr, /Forward\.Dockerfile:2:13: error: --from: stage "later" needs to be defined before current stage/);
  const target = wharf('plan', '--target', 'nope');
  assert.equal(target.status, 1);
  assert.match(target.stderr, /target stage "nope" could not be found\nhint: stages in this Dockerfile: base, build, final/);
  assert.equal(wharf('plan', '--format', 'yaml').status, 2);
  const missing = wharf('plan', '-f', 'Nope');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read .*Nope: ENOENT/);
});
