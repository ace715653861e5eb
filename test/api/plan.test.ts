// The library plans a Dockerfile as `wharf plan` does, with no CLI in between: the plan for a
// target and build args, its diagnostics, and with cacheOf which steps are cached in a store now.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, plan, UserError } from '../../src/api/index.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

const suite = busyboxStoreForFile('wharf-api-plan-');

test('plan(): stages, target and build args; diagnostics at their line; an unreadable Dockerfile names its path', async () => {
  const ctx = await suite.env.context('p', { Dockerfile: 'FROM busybox:test AS base\nARG MSG\nRUN echo $MSG\nFROM base AS final\nRUN echo done\n' });
  const whole = await plan({ context: ctx, buildArgs: { MSG: 'hi' } });
  assert.ok(whole.plan, JSON.stringify(whole.diagnostics));
  assert.deepEqual(whole.diagnostics.filter((d) => d.severity === 'error'), []);
  const base = await plan({ context: ctx, target: 'base' });
  assert.ok(base.plan);
  assert.ok(JSON.stringify(base.plan).length < JSON.stringify(whole.plan).length, 'the target drops the final stage');
  const bad = await suite.env.context('bad', { Dockerfile: 'FROM busybox:test\nRUNN echo\n' });
  const r = await plan({ context: bad });
  const err = r.diagnostics.find((d) => d.severity === 'error');
  assert.ok(err, 'an unknown instruction is an error');
  assert.equal(err.file?.position(err.range!.start).line, 2);
  await assert.rejects(plan({ context: ctx, dockerfile: 'nope/Dockerfile', cwd: ctx }), (e) => e instanceof UserError && /cannot read .*nope\/Dockerfile: ENOENT/.test(e.message));
});

test('plan({ cacheOf }): after a build every step is cached; before, the RUN is not', async () => {
  const ctx = await suite.env.context('c', { Dockerfile: 'FROM busybox:test\nRUN echo cached > /c\n' });
  const before = await plan({ context: ctx, cacheOf: suite.env.root });
  assert.ok(before.plan && before.cached);
  assert.ok([...before.cached.values()].includes(false), JSON.stringify([...before.cached]));
  await build({ root: suite.env.root, context: ctx });
  const after = await plan({ context: ctx, cacheOf: suite.env.root });
  assert.ok(after.cached && after.cached.size > 0);
  assert.ok([...after.cached.values()].every(Boolean), JSON.stringify([...after.cached]));
});
