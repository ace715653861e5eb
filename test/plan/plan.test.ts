import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAst } from '../helpers/parse-ast.js';
import { resolveStages } from '../../src/instructions/index.js';
import { buildPlan, planDockerfile, stepsUpToLastRun, vertexOp, type Plan } from '../../src/plan/index.js';
import { canonicalJSON } from '../../src/hash/index.js';
import { SourceFile } from '../../src/diag/index.js';
import { parseDockerfile } from '../../src/syntax/index.js';

function plan(text: string, target?: string) {
  const r = resolveStages(parseAst(text));
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  return buildPlan(r.resolved, { target });
}
const okPlan = (text: string, target?: string): Plan => {
  const p = plan(text, target);
  assert.deepEqual(p.diagnostics.map((d) => d.message), []);
  return p.plan!;
};
const planErrors = (text: string, target?: string) => plan(text, target).diagnostics.map((d) => d.code);

const MULTI = [
  'FROM alpine AS base',
  'RUN apk add make',
  'FROM base AS build',
  'WORKDIR /src',
  'LABEL a=b',
  'COPY . .',
  'RUN make',
  'FROM scratch AS docs',
  'COPY README /',
  'FROM alpine',
  'COPY --from=build /src/app /app',
  'RUN --mount=type=bind,from=docs,target=/d cat /d/README',
  'COPY --from=nginx:1 /etc/nginx /etc/nginx',
  'CMD ["/app"]',
].join('\n');

test('stage edges come from FROM <stage>, COPY --from and mount from=', () => {
  const p = okPlan(MULTI);
  assert.deepEqual(p.stages.map((s) => [s.index, s.name, s.dependsOn]), [
    [0, 'base', []],
    [1, 'build', [0]],
    [2, 'docs', []],
    [3, undefined, [1, 2]],
  ]);
  assert.deepEqual(p.stages[1]!.base, { kind: 'stage', stage: 0 });
  assert.deepEqual(p.stages[2]!.base, { kind: 'scratch' });
  assert.deepEqual(p.stages[3]!.images, ['nginx:1']);
  const final = p.stages[3]!.vertices;
  assert.deepEqual(final.map((v) => v.edges.map((e) => `${e.via}:${e.stage}`)), [[], ['copy-from:1'], ['mount-from:2'], [], []]);
});

test('a filesystem vertex names the previous filesystem vertex of its stage as its parent', () => {
  const build = okPlan(MULTI).stages[1]!.vertices;
  assert.deepEqual(
    build.map((v) => [v.kind, v.filesystem, v.fsParent ?? null, v.prev ?? null]),
    [
      ['from', true, null, null],
      ['workdir', true, 's1v0', 's1v0'],
      ['meta', false, null, 's1v1'],
      ['copy', true, 's1v1', 's1v2'],
      ['run', true, 's1v3', 's1v3'],
    ],
  );
});

test('--target prunes to the stages it needs', () => {
  assert.deepEqual(okPlan(MULTI, 'build').stages.map((s) => s.index), [0, 1]);
  assert.deepEqual(okPlan(MULTI, 'DOCS').stages.map((s) => s.index), [2]);
  assert.equal(okPlan(MULTI).target, 3);
});

test('an unknown target lists the stage names', () => {
  const p = plan(MULTI, 'nope');
  assert.equal(p.plan, undefined);
  assert.equal(p.diagnostics[0]!.message, 'target stage "nope" could not be found');
  assert.equal(plan(MULTI, 'bulid').diagnostics[0]!.hint, 'did you mean build? stages in this Dockerfile: base, build, docs');
  assert.equal(p.diagnostics[0]!.hint, 'stages in this Dockerfile: base, build, docs');
});

test('references to later stages, to itself, to missing indexes, and duplicate names are errors', () => {
  assert.deepEqual(planErrors('FROM a\nCOPY --from=later / /\nFROM b AS later'), ['plan.forward-reference']);
  assert.deepEqual(planErrors('FROM a AS x\nCOPY --from=x / /'), ['plan.cycle']);
  assert.deepEqual(planErrors('FROM a\nCOPY --from=0 / /'), ['plan.cycle']);
  assert.deepEqual(planErrors('FROM a\nCOPY --from=3 / /'), ['plan.unknown-stage']);
  assert.deepEqual(planErrors('FROM a AS x\nFROM b AS x'), ['plan.duplicate-stage']);
  assert.deepEqual(planErrors('FROM a AS x\nRUN --mount=from=y,target=/y true\nFROM b AS y'), ['plan.forward-reference']);
  // FROM naming a later stage is an image reference in BuildKit only if no stage has that name.
  assert.deepEqual(planErrors('FROM later\nFROM b AS later'), ['plan.forward-reference']);
  assert.deepEqual(planErrors('FROM a\nCOPY --from=0 / /\nFROM b\nCOPY --from=0 / /'), ['plan.cycle']);
});

test('a numeric COPY --from names an earlier stage by index; an unknown name is an image', () => {
  const p = okPlan('FROM a\nFROM b\nCOPY --from=0 / /\nCOPY --from=busybox /bin/sh /sh');
  assert.deepEqual(p.stages[1]!.dependsOn, [0]);
  assert.deepEqual(p.stages[1]!.images, ['busybox']);
});

test('each vertex carries the USER, WORKDIR and SHELL in effect, inherited from a parent stage', () => {
  const text = 'FROM scratch AS s\nWORKDIR w\nFROM img AS a\nWORKDIR rel\nWORKDIR /abs\nWORKDIR sub/../x\nUSER app\nFROM a\nSHELL ["/bin/bash", "-c"]\nRUN true';
  const planned = plan(text);
  // Only the relative WORKDIR on an image of unknown WorkingDir is a hazard.
  assert.deepEqual(planned.diagnostics.map((d) => [d.code, d.message]), [['lint.workdir-relative-path', 'Relative workdir "rel" can have unexpected results if the base image changes']]);
  const p = planned.plan!;
  assert.deepEqual(p.stages.map((s) => s.index), [1, 2]);
  assert.deepEqual(p.stages[0]!.vertices.map((v) => v.context), [{}, { workdir: 'rel' }, { workdir: '/abs' }, { workdir: '/abs/x' }, { workdir: '/abs/x', user: 'app' }]);
  assert.deepEqual(p.stages[1]!.vertices.at(-1)!.context, { workdir: '/abs/x', user: 'app', shell: ['/bin/bash', '-c'] });
  assert.deepEqual(plan(text, 's').plan!.stages[0]!.vertices.at(-1)!.context, { workdir: '/w' });
});

test('planDockerfile says an error seen by both the parser and the instruction layer once', () => {
  const file = new SourceFile('Dockerfile', 'FROM a\nONBUILD FROM b\n');
  const parsed = parseDockerfile(file);
  assert.ok(parsed.ast);
  const r = planDockerfile(parsed.ast, {}, parsed.diagnostics);
  assert.equal(r.plan, undefined);
  assert.deepEqual(r.diagnostics.map((d) => d.message), ["FROM isn't allowed as an ONBUILD trigger"]);
});

test('a check directive skips lint rules or turns their warnings into errors', () => {
  const run = (text: string) => {
    const parsed = parseDockerfile(new SourceFile('Dockerfile', text));
    assert.ok(parsed.ast);
    return planDockerfile(parsed.ast, {}, parsed.diagnostics);
  };
  const body = 'FROM a\nMAINTAINER me\nCMD run\n';
  assert.deepEqual(run(body).diagnostics.map((d) => d.code), ['lint.maintainer-deprecated', 'lint.json-args-recommended']);
  assert.deepEqual(run(`# check=skip=JSONArgsRecommended\n${body}`).diagnostics.map((d) => d.code), ['lint.maintainer-deprecated']);
  assert.deepEqual(run(`# check=skip=all\n${body}`).diagnostics, []);
  const strict = run(`# check=error=true;skip=MaintainerDeprecated\n${body}`);
  assert.equal(strict.plan, undefined);
  assert.deepEqual(strict.diagnostics.map((d) => [d.severity, d.code]), [['error', 'lint.json-args-recommended']]);
});

test('vertexOp is plain data without source positions, equal for equal expanded instructions', () => {
  const a = okPlan('FROM s\nARG V=1\nRUN --mount=type=cache,target=/c echo $V\nCOPY --chown=$V a /b');
  const b = okPlan('FROM s\nLABEL x=y\nARG V=1\n\nRUN --mount=type=cache,target=/c echo $V\nCOPY --chown=1 a /b');
  const ops = (p: Plan) => p.stages[0]!.vertices.filter((v) => v.filesystem).map((v) => canonicalJSON(vertexOp(v)));
  assert.deepEqual(ops(a), ops(b));
  assert.doesNotMatch(ops(a).join(''), /"(range|node|start|end)"/);
  assert.match(ops(a)[1]!, /"mounts":\[\{"id":"\/c","mode":493,"readOnly":false,"sharing":"shared","target":"\/c","type":"cache"\}\]/);
});

test('stepsUpToLastRun: the steps with a RUN at or after them in their stage (a build prepares its executor at the first to start)', () => {
  const p = okPlan([
    'FROM alpine AS tools',
    'WORKDIR /w',
    'RUN make',
    'COPY late.txt /late.txt',
    'FROM alpine',
    'COPY --from=tools /w /w',
    'COPY manifest.txt /m',
    '',
  ].join('\n'));
  const label = (id: string) => p.stages.flatMap((s) => s.vertices).find((v) => v.id === id)!.kind;
  const ids = stepsUpToLastRun(p);
  assert.deepEqual([...ids].map(label), ['from', 'workdir', 'run'], 'the COPY after the last RUN, and a stage without RUN, need no executor');
  assert.equal(stepsUpToLastRun(okPlan('FROM alpine\nCOPY a /a\n')).size, 0);
});
