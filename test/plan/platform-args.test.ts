/**
 * The target platform (`--platform`) and the build platform (this host) reach the Dockerfile as
 * BuildKit gives them: FROM --platform=$BUILDPLATFORM pins a stage to the build platform, while
 * TARGET* in every stage (also that one, for cross-compiling) and in FROM lines are the target's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planDockerfile, type Plan } from '../../src/plan/index.js';
import { parseAst } from '../helpers/parse-ast.js';

const DOCKERFILE = `FROM --platform=$BUILDPLATFORM golang:1 AS build
ARG TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDARCH
WORKDIR /build=$BUILDPLATFORM/$BUILDARCH/target=$TARGETOS/$TARGETARCH/$TARGETVARIANT
FROM alpine:\${TARGETARCH}
ARG TARGETPLATFORM
WORKDIR /$TARGETPLATFORM
COPY --from=build /out /out
`;

const workdirs = (plan: Plan) => plan.stages.flatMap((s) => s.vertices.filter((v) => v.kind === 'workdir').map((v) => v.label));

test('--platform linux/arm64/v8 on an amd64 host: the build stage runs on amd64 and compiles for arm64', () => {
  const r = planDockerfile(parseAst(DOCKERFILE), {
    targetPlatform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    buildPlatform: { os: 'linux', architecture: 'amd64' },
  });
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  const plan = r.plan!;
  assert.deepEqual(plan.stages.map((s) => [s.platform, s.base]), [['linux/amd64', { kind: 'image', ref: 'golang:1' }], [undefined, { kind: 'image', ref: 'alpine:arm64' }]]);
  assert.deepEqual(workdirs(plan), ['WORKDIR /build=linux/amd64/amd64/target=linux/arm64/v8', 'WORKDIR /linux/arm64/v8']);
});

test('without a --platform the target is the build platform', () => {
  const host = { os: 'linux', architecture: 'riscv64' };
  const r = planDockerfile(parseAst(DOCKERFILE), { targetPlatform: host, buildPlatform: host });
  assert.deepEqual(workdirs(r.plan!), ['WORKDIR /build=linux/riscv64/riscv64/target=linux/riscv64/', 'WORKDIR /linux/riscv64']);
  assert.equal(r.plan!.stages[0]!.platform, 'linux/riscv64');
});
