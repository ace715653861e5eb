import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, createServer } from 'node:net';
import { openStore, type Store } from '../../src/store/index.js';
import type { Mount } from '../../src/instructions/index.js';
import type { BuildDeps } from '../../src/ops/state.js';
import { withSecret } from '../../src/ops/mounts/secret.js';
import { withSshAgent } from '../../src/ops/mounts/ssh.js';

// The secret and ssh mount modules without a container: what they stage, hand on and remove.
let dir: string;
let store: Store;
const range = { start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } } as unknown as Mount['range'];
const deps = (extra: Partial<BuildDeps>) => ({ store, ...extra }) as BuildDeps;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wharf-mount-kinds-'));
  store = await openStore(join(dir, 'store'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a secret file is staged 0400 for the RUN and removed afterwards, also when the RUN fails', async () => {
  const m: Mount = { type: 'secret', id: 'tok', target: '/run/secrets/tok', env: 'TOK', readOnly: true, required: false, range };
  const d = deps({ secrets: new Map([['tok', Buffer.from('value')]]) });
  const seen = await withSecret(d, 'RUN', m, async (add) => {
    const source = add.spec?.type === 'bind' ? add.spec.source : '';
    return { mode: (await stat(source)).mode & 0o777, data: await readFile(source, 'utf8'), env: add.env };
  });
  assert.deepEqual(seen, { mode: 0o400, data: 'value', env: ['TOK=value'] });
  await assert.rejects(withSecret(d, 'RUN', m, async () => Promise.reject(new Error('step failed'))), /step failed/);
  assert.deepEqual(await readdir(store.tmpDir), []);
  assert.deepEqual(await withSecret(deps({}), 'RUN', m, async (add) => add), {});
});

test('an ssh mount relays the container\'s connections to the agent socket and closes the relay afterwards', async () => {
  const agent = join(dir, 'agent.sock');
  const server = createServer((c) => c.end('agent-hello\n'));
  await new Promise<void>((r) => server.listen(agent, r));
  try {
    const m: Mount = { type: 'ssh', id: 'default', target: '/run/buildkit/ssh_agent.0', readOnly: true, required: true, range };
    const got = await withSshAgent(deps({ sshAgents: new Map([['default', agent]]) }), 'RUN', m, true, async (add) => {
      assert.deepEqual(add.defaultEnv, ['SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0']);
      const source = add.spec?.type === 'bind' ? add.spec.source : '';
      assert.equal((await stat(source)).mode & 0o777, 0o600);
      return new Promise<string>((resolve, reject) => {
        let text = '';
        createConnection(source).on('data', (b) => (text += b.toString())).on('end', () => resolve(text)).on('error', reject);
      });
    });
    assert.equal(got, 'agent-hello\n');
    assert.deepEqual(await readdir(store.tmpDir), []);
    await assert.rejects(withSshAgent(deps({}), 'RUN', m, true, async () => 1), /the ssh agent "default" is required/);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
