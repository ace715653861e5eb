/**
 * The front end resolves a Dockerfile once, asking an injected BaseImageResolver for the base
 * images as FROM lines name them: their Env reaches expansion, their ONBUILD triggers run first,
 * and the async path plans exactly what the sync one does with the same answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAst } from '../helpers/parse-ast.js';
import type { BaseImageConfig } from '../../src/instructions/base-image.js';
import { type BaseImageResolver, type TypedInstruction, parseInstruction } from '../../src/instructions/index.js';
import { planDockerfile, planDockerfileAsync, renderPlanJson, type Plan } from '../../src/plan/index.js';
import { SourceFile } from '../../src/diag/index.js';
import { parseDockerfile } from '../../src/syntax/index.js';

/** A resolver over fixed configs that records what it was asked. */
function fakeImages(configs: Record<string, BaseImageConfig>): BaseImageResolver & { asked: string[] } {
  const asked: string[] = [];
  return { asked, config: async (ref) => (asked.push(ref), configs[ref]) };
}

const vertex = (plan: Plan, stage: number, n: number) => plan.stages.find((s) => s.index === stage)!.vertices[n]!;
const runVars = (plan: Plan, stage: number, n: number) => {
  const v = vertex(plan, stage, n);
  assert.equal(v.kind, 'run', `vertex ${n} of stage ${stage} is a RUN`);
  return Object.fromEntries(v.kind === 'run' ? v.runEnv?.vars ?? [] : []);
};

test('a base image Env from the resolver is seen by expansion after FROM and by RUN', async () => {
  const images = fakeImages({ img: { Env: ['PATH=/img/bin', 'HOME=/home/img'] } });
  const r = await planDockerfileAsync(parseAst('FROM img\nWORKDIR $HOME/src\nRUN make\n'), {}, images);
  assert.deepEqual(r.diagnostics.map((d) => d.message), []);
  assert.equal(vertex(r.plan!, 0, 1).label, 'WORKDIR /home/img/src');
  assert.equal(runVars(r.plan!, 0, 2).PATH, '/img/bin');
});

test('each base image is asked for once; scratch and earlier stages never are', async () => {
  const images = fakeImages({ img: { Env: [] }, other: {} });
  const text = 'FROM img AS a\nRUN x\nFROM a\nRUN y\nFROM img\nFROM scratch\nFROM SCRATCH\nFROM other\nCOPY --from=a / /\n';
  const r = await planDockerfileAsync(parseAst(text), {}, images);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  assert.deepEqual(images.asked, ['img', 'other']);
});

test("a base image's ONBUILD triggers run first; a broken one is reported against the image's ONBUILD text", async () => {
  const images = fakeImages({ parent: { OnBuild: ['RUN echo triggered'] }, broken: { OnBuild: ['RUN echo fine', 'NOTANINSTRUCTION x'] } });
  const r = await planDockerfileAsync(parseAst('FROM parent\nRUN own\n'), {}, images);
  assert.deepEqual(r.plan!.stages[0]!.vertices.map((v) => v.label), ['FROM parent', '[onbuild] RUN echo triggered', 'RUN own']);

  const b = await planDockerfileAsync(parseAst('FROM broken\nRUN own\n'), {}, images);
  assert.equal(b.plan, undefined);
  const errors = b.diagnostics.filter((d) => d.severity === 'error');
  assert.ok(errors.length > 0);
  assert.ok(errors.every((d) => d.file?.name === 'broken ONBUILD'), errors.map((d) => `${d.file?.name}: ${d.message}`).join('\n'));
});

test('an image the resolver does not know starts with the default PATH and no UndefinedVar warning', async () => {
  const r = await planDockerfileAsync(parseAst('FROM missing\nRUN echo $HOME\nENV H=$HOME\n'), {}, fakeImages({}));
  assert.deepEqual(r.diagnostics.map((d) => d.code), []);
  assert.equal(runVars(r.plan!, 0, 1).PATH, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
});

test('the async plan is the sync plan given the same answers', async () => {
  const text = 'ARG V=1\nFROM img AS a\nENV X=$HOME\nRUN a\nFROM a\nARG V\nRUN b $V\nFROM other\nCOPY --from=a /x /y\n';
  const configs: Record<string, BaseImageConfig> = { img: { Env: ['HOME=/h'], OnBuild: ['ENV T=1'] }, other: { Env: ['PATH=/o'] } };
  const triggers = (ref: string): TypedInstruction[] =>
    (configs[ref]?.OnBuild ?? []).map((t) => {
      const f = new SourceFile(`${ref} ONBUILD`, t + '\n');
      return parseInstruction(parseDockerfile(f).ast!.instructions[0]!, f, [])!;
    });
  const sync = planDockerfile(parseAst(text), {
    buildArgs: new Map([['V', '2']]),
    imageEnv: (ref) => (configs[ref] ? new Map((configs[ref]!.Env ?? []).map((e) => e.split('=') as [string, string])) : undefined),
    imageTriggers: (ref) => (configs[ref] ? triggers(ref) : undefined),
  });
  const async = await planDockerfileAsync(parseAst(text), { buildArgs: new Map([['V', '2']]) }, fakeImages(configs));
  assert.deepEqual(async.diagnostics.map((d) => d.message), sync.diagnostics.map((d) => d.message));
  assert.equal(renderPlanJson(async.plan!), renderPlanJson(sync.plan!));
});

test('TARGET* follow the target platform and BUILD* the build platform', async () => {
  const text = 'FROM img-$TARGETARCH\nARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDARCH\nRUN x\n';
  const images = fakeImages({});
  const r = await planDockerfileAsync(parseAst(text), { targetPlatform: { os: 'linux', architecture: 'arm', variant: 'v7' }, buildPlatform: { os: 'linux', architecture: 's390x' } }, images);
  assert.deepEqual(images.asked, ['img-arm']);
  const vars = runVars(r.plan!, 0, 2);
  assert.deepEqual(
    [vars.TARGETPLATFORM, vars.TARGETOS, vars.TARGETARCH, vars.TARGETVARIANT, vars.BUILDPLATFORM, vars.BUILDARCH],
    ['linux/arm/v7', 'linux', 'arm', 'v7', 'linux/s390x', 's390x'],
  );
});
