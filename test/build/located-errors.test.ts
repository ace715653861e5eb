import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { freePort } from '../helpers/registry.js';

// Errors found while building point at the Dockerfile as parse errors do: file:line:col, the
// instruction's line, a caret under the word at fault, and a hint.
const suite = busyboxStoreForFile('wharf-located-');
// A stage-name typo is first tried as an image on docker.io: through a proxy on a closed local
// port, so the test makes no traffic beyond 127.0.0.1 (not even a DNS query).
process.env.HTTPS_PROXY = process.env.HTTP_PROXY = 'http://127.0.0.1:9';
delete process.env.NO_PROXY;
delete process.env.https_proxy;
delete process.env.http_proxy;
delete process.env.no_proxy;

const noStack = (s: string) => assert.doesNotMatch(s, /\n\s+at /, 'no stack trace');

test('a failing RUN: location, the line with a caret, its exit code and its last output lines', async () => {
  const line = 'RUN echo first; echo second; exit 3';
  const ctx = await suite.env.context('run', { Dockerfile: `FROM busybox:test\n\n${line}\n` });
  const r = await suite.env.build(ctx);
  assert.equal(r.status, 1);
  const tail = r.stderr.slice(r.stderr.indexOf('last output:'));
  assert.match(tail, /last output:\n  first\n  second\n/);
  assert.ok(tail.includes(`Dockerfile:3:1: error: process "/bin/sh -c echo first; echo second; exit 3" exited with code 3\n 3 | ${line}\n   | ${'^'.repeat(line.length)}\nhint: `), tail);
  noStack(r.stderr);
});

test('exit 127 says the command was not found', async () => {
  const ctx = await suite.env.context('run127', { Dockerfile: 'FROM busybox:test\nRUN no-such-command\n' });
  const r = await suite.env.build(ctx);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Dockerfile:2:1: error: .*exited with code 127/);
  assert.match(r.stderr, /hint: exit code 127: the shell did not find the command/);
});

test('a missing COPY source: caret under the source, did-you-mean for files beside it', async () => {
  const ctx = await suite.env.context('copy', { Dockerfile: 'FROM busybox:test\nCOPY src/main.jss /app/\n', 'src/main.js': 'x', 'src/other.txt': 'y' });
  const r = await suite.env.build(ctx);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Dockerfile:2:6: error: COPY src\/main.jss \/app\/: "src\/main.jss" not found in the build context\n 2 \| COPY src\/main.jss \/app\/\n   \|      \^{12}\nhint: did you mean "src\/main.js"\?/);
  assert.doesNotMatch(r.stderr, /other\.txt/);
  noStack(r.stderr);
});

test('--from= a typo of a stage name: did-you-mean the stage, caret under the name', async () => {
  const ctx = await suite.env.context('from', { Dockerfile: 'FROM busybox:test AS build\nRUN echo x > /x\nFROM busybox:test\nCOPY --from=biuld /x /y\n' });
  const r = await suite.env.build(ctx);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Dockerfile:4:13: error: --from=biuld: no stage is named "biuld", and no image of that name could be pulled \(cannot reach the proxy/);
  assert.match(r.stderr, / 4 \| COPY --from=biuld \/x \/y\n   \|             \^{5}\nhint: did you mean --from=build\?/);
});

test('FROM a typo of an earlier stage name: did-you-mean the stage', async () => {
  const ctx = await suite.env.context('fromstage', { Dockerfile: 'FROM busybox:test AS builder\nRUN true\nFROM buidler\n' });
  const r = await suite.env.build(ctx);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Dockerfile:3:6: error: base image "buidler" not found: [^\n]*\n 3 \| FROM buidler\n   \|      \^{7}\nhint: did you mean the stage "builder"\?/);
});

test('a missing base image: located at the FROM image name', async () => {
  const port = await freePort();
  const ctx = await suite.env.context('base', { Dockerfile: `FROM 127.0.0.1:${port}/nothing:1\nRUN true\n` });
  const r = await suite.env.build(ctx);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`Dockerfile:1:6: error: base image "127.0.0.1:${port}/nothing:1" not found: `));
  assert.match(r.stderr, /\n 1 \| FROM 127\.0\.0\.1:\d+\/nothing:1\n   \|      \^+\nhint: /);
  noStack(r.stderr);
});

test('--progress json: step-error has the line and exit code; build-failed closes the stream; only JSON lines', async () => {
  const ctx = await suite.env.context('json', { Dockerfile: 'FROM busybox:test\nRUN echo out; exit 5\n' });
  const r = suite.env.wharf(['build', '--progress', 'json', ctx]);
  assert.equal(r.status, 1);
  const lines = r.stderr.trimEnd().split('\n');
  const events = lines.map((l) => JSON.parse(l) as { type: string; line?: number; exitCode?: number; lastOutput?: string[]; col?: number });
  const err = events.find((e) => e.type === 'step-error')!;
  assert.equal(err.line, 2);
  assert.equal(err.exitCode, 5);
  assert.deepEqual(err.lastOutput, ['out']);
  const last = events.at(-1)!;
  assert.equal(last.type, 'build-failed');
  assert.equal(last.line, 2);
  assert.equal(last.col, 1);
  assert.equal(last.exitCode, 5);
});

test('--progress json: a parse error is a diagnostic event and build-failed, no caret text', async () => {
  const ctx = await suite.env.context('jsonparse', { Dockerfile: 'FROM busybox:test\nCOPPY a b\n' });
  const r = suite.env.wharf(['build', '--progress', 'json', ctx]);
  assert.equal(r.status, 1);
  const events = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; line?: number });
  assert.equal(events[0]!.type, 'diagnostic');
  assert.equal(events[0]!.line, 2);
  assert.equal(events.at(-1)!.type, 'build-failed');
});
