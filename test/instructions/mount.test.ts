import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ok } from '../../src/util/index.js';
import { parseMount, splitCsv } from '../../src/instructions/mount.js';

const range = { start: 0, end: 1 };
const mount = (spec: string, sshIndex = 0) => {
  const r = parseMount(spec, range, (s) => ok(s), sshIndex);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  const { range: _r, ...rest } = r.value;
  return rest;
};

test('defaults per mount type follow BuildKit', () => {
  assert.deepEqual(mount('target=/src'), { type: 'bind', target: '/src', readOnly: true });
  assert.deepEqual(mount('type=bind,target=/src,rw'), { type: 'bind', target: '/src', readOnly: false });
  assert.deepEqual(mount('type=tmpfs,dst=/tmp,size=1g'), { type: 'tmpfs', target: '/tmp', size: 1024 ** 3, readOnly: false });
  assert.deepEqual(mount('type=secret,target=/run/x/token'), { type: 'secret', target: '/run/x/token', id: 'token', readOnly: true, required: false });
  assert.deepEqual(mount('type=secret,id=npm,env=NPM_TOKEN,required'), { type: 'secret', id: 'npm', env: 'NPM_TOKEN', readOnly: true, required: true });
  assert.deepEqual(mount('type=ssh', 1), { type: 'ssh', id: 'default', target: '/run/buildkit/ssh_agent.1', readOnly: true, required: false });
  assert.deepEqual(mount('type=cache,target=/c,ro=true,uid=1000,gid=1000'), { type: 'cache', target: '/c', readOnly: true, uid: 1000, gid: 1000, sharing: 'shared', id: '/c', mode: 0o755 });
});

test('the value is split like CSV: quoted commas stay in a field', () => {
  assert.deepEqual(splitCsv('type=bind,"source=a,b",target=/x'), ['type=bind', 'source=a,b', 'target=/x']);
});

test('an expansion failure inside a mount value is an error', () => {
  const r = parseMount('type=cache,target=${T:?no target}', range, (s) => (s.includes('${T:?') ? { ok: false, error: 'T: no target' } : ok(s)));
  assert.ok(!r.ok);
  assert.equal(r.error.message, 'T: no target');
});

test('a secret named by source= takes that id (BuildKit), with the default target from it', () => {
  assert.deepEqual(mount('type=secret,source=npmrc,id=ignored'), { type: 'secret', source: 'npmrc', id: 'npmrc', target: '/run/secrets/npmrc', readOnly: true, required: false });
});
