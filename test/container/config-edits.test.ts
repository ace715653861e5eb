import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyInstructions, editsAsInstructions } from '../../src/container/index.js';
import { isUserError } from '../../src/util/index.js';
import type { ImageConfig } from '../../src/image/index.js';

// `commit -c` and `config --…` edits are Dockerfile lines read by the Dockerfile parser: the same
// text means what it means in a Dockerfile, and the commit's history is left to the commit.
const base: ImageConfig = {
  architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] },
  config: { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'], WorkingDir: '/srv' },
  history: [{ created_by: 'base' }],
};

test('-c lines apply as in a Dockerfile: shell and exec form, variables from the config, relative WORKDIR', () => {
  const c = applyInstructions(base, ['ENV B=${A}-two', 'CMD echo $B', 'ENTRYPOINT ["/bin/tini", "--"]', 'WORKDIR app', 'EXPOSE 80 53/UDP', 'LABEL k=v', 'USER 1000:1000'], '-c');
  assert.deepEqual(c.config?.Env, ['PATH=/bin', 'A=1', 'B=1-two']);
  // ENTRYPOINT after a CMD of the same edit keeps that CMD (as in one Dockerfile stage).
  assert.deepEqual(c.config?.Cmd, ['/bin/sh', '-c', 'echo $B']);
  assert.deepEqual(c.config?.Entrypoint, ['/bin/tini', '--']);
  assert.equal(c.config?.WorkingDir, '/srv/app');
  assert.deepEqual(Object.keys(c.config?.ExposedPorts ?? {}), ['53/udp', '80/tcp']);
  assert.deepEqual(c.config?.Labels, { k: 'v' });
  assert.equal(c.config?.User, '1000:1000');
  assert.deepEqual(c.history, base.history, 'no history entries of their own');
});

test('config flags become the same lines; values are taken literally', () => {
  const lines = editsAsInstructions({ env: ['MSG=a b $HOME'], cmd: '["run"]', labels: ['x=1'], expose: ['8080'], workdir: '/w', user: 'app' });
  assert.deepEqual(lines, ['ENV MSG="a b $HOME"', 'CMD ["run"]', 'WORKDIR /w', 'USER app', 'LABEL x="1"', 'EXPOSE 8080']);
  const c = applyInstructions(base, lines, 'config');
  assert.ok(c.config?.Env?.includes('MSG=a b '), 'ENV expands $HOME as a Dockerfile would (unset here)');
  assert.deepEqual(c.config?.Cmd, ['run']);
});

test('instructions that are not config edits, and bad lines, are errors naming the line', () => {
  for (const [line, re] of [['RUN rm -rf /', /-c "RUN rm -rf \/": RUN cannot be applied to a config/], ['FROM x', /FROM cannot be applied/], ['EXPOSE', /-c "EXPOSE"/]] as const) {
    assert.throws(() => applyInstructions(base, [line], '-c'), (e: unknown) => isUserError(e) && re.test(e.message));
  }
  assert.throws(() => editsAsInstructions({ env: ['NOVALUE'] }), /--env NOVALUE: expected KEY=VALUE/);
});
