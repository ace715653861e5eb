// The library locates a failed step as the CLI does: `build` throws a StepFailure (the step's code
// and message, plus where in the Dockerfile), and step-error events carry the instruction's line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, formatDiagnostic, StepFailure, type BuildEvent } from '../../src/api/index.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

const suite = busyboxStoreForFile('wharf-api-located-');

test('build: a failing RUN throws a StepFailure at its line, with exit code and last output; step-error has the line', async () => {
  const ctx = await suite.env.context('run', { Dockerfile: 'FROM busybox:test\n\nRUN echo one; echo two; exit 5\n' });
  const events: BuildEvent[] = [];
  const failed = await build({ root: suite.env.root, context: ctx }, { onEvent: (e) => events.push(e) }).then(
    () => assert.fail('the build should fail'),
    (e: unknown) => e,
  );
  assert.ok(failed instanceof StepFailure, String(failed));
  assert.equal(failed.code, 'build.run-failed');
  assert.match(failed.message, /exited with code 5/);
  assert.equal(failed.located.exitCode, 5);
  assert.deepEqual(failed.located.lastOutput, ['one', 'two']);
  assert.match(formatDiagnostic(failed.located.diagnostic), /Dockerfile:3:1: error: process .* exited with code 5\n 3 \| RUN echo one/);
  const stepError = events.find((e) => e.type === 'step-error');
  assert.ok(stepError && stepError.type === 'step-error');
  assert.equal(stepError.line, 3);
  assert.equal(stepError.exitCode, 5);
});

test('build: a missing COPY source is located at the source word', async () => {
  const ctx = await suite.env.context('copy', { Dockerfile: 'FROM busybox:test\nCOPY nope.txt /x\n', 'nope.tx': 'y' });
  const failed = await build({ root: suite.env.root, context: ctx }).then(
    () => assert.fail('the build should fail'),
    (e: unknown) => e,
  );
  assert.ok(failed instanceof StepFailure, String(failed));
  const d = failed.located.diagnostic;
  assert.equal(d.file?.position(d.range!.start).line, 2);
  assert.equal(d.file?.position(d.range!.start).col, 6);
});
