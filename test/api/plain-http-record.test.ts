// The store's record of plain-http registries is the library's, not the CLI's: a program (or
// `wharf serve`) calling push and pull gets the same record the CLI keeps, and a caller's own
// record wins.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pull, push, withStoreRegistry, type RegistryClientOptions } from '../../src/api/index.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const suite = busyboxStoreForFile('wharf-api-plainhttp-');
let reg: TestRegistry | undefined;
after(async () => {
  await reg?.stop();
});

test('push and pull through the library record a plain-http registry in the store', async () => {
  reg = await startRegistry();
  const record = join(suite.env.root, 'cache', 'registry-plain-http');
  assert.equal(await readFile(record, 'utf8').catch(() => ''), '', 'no record before');
  const registry: RegistryClientOptions = { configDir: join(suite.dir, 'docker') };
  assert.equal(suite.env.wharf(['tag', 'busybox:test', `${reg.host}/lib/bb:1`]).status, 0);
  await push({ root: suite.env.root, name: `${reg.host}/lib/bb:1`, registry });
  assert.equal(await readFile(record, 'utf8'), `${reg.host}\n`, 'push recorded the host in the store');
  const pulled = await pull({ root: suite.env.root, name: `${reg.host}/lib/bb:1`, registry });
  assert.match(pulled.repoDigest, /@sha256:[0-9a-f]{64}$/);

  // A caller's own record is kept, not replaced by the store's.
  const own = { has: () => false, add: () => undefined, delete: () => undefined };
  assert.equal(withStoreRegistry({ ...registry, plainHttpHosts: own }, suite.env.root).plainHttpHosts, own);
  assert.equal(withStoreRegistry(undefined, suite.env.root).plainHttpHosts?.has(reg.host), true);
});
