// The stock docker CLI through `wharf serve` gets the library's image filters and build cache
// pruning: `docker images --filter reference=` and `docker builder prune --filter until= / -a`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { servedBusyboxSuite } from './helpers.js';

const suite = servedBusyboxSuite('wharf-serve-filters-');

const records = async () => (await readdir(join(suite.env.root, 'cache'))).filter((n) => n.endsWith('.json'));

test('docker images --filter reference= lists only the matching names', async () => {
  for (const t of ['app:1', 'app:2', 'tools/lint:1']) assert.equal(suite.server.docker(['tag', 'busybox:test', t]).status, 0);
  const r = suite.server.docker(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=app']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').sort(), ['app:1', 'app:2']);
  const bad = suite.server.docker(['images', '--filter', 'label=x']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /filter label=x is not one wharf knows/);
});

test('docker builder prune --filter until= forgets old records; -a forgets all', async () => {
  for (const n of ['one', 'two']) {
    const ctx = await suite.env.context(n, { Dockerfile: `FROM busybox:test\nRUN echo ${n} > /${n}\n` });
    // Each its own tag: a streamed context is kept per tags/target/Dockerfile.
    const b = suite.server.docker(['build', '-q', '-t', `prune-${n}:1`, ctx]);
    assert.equal(b.status, 0, b.stderr);
  }
  const all = (await records()).sort();
  assert.equal(all.length, 2, (await readdir(join(suite.env.root, 'cache'))).join(' '));
  const file = join(suite.env.root, 'cache', all[0]!);
  const rec = JSON.parse(await readFile(file, 'utf8')) as { created: string };
  await writeFile(file, JSON.stringify({ ...rec, created: new Date(Date.now() - 2 * 86_400_000).toISOString() }));
  const aged = suite.server.docker(['builder', 'prune', '-f', '--filter', 'until=24h']);
  assert.equal(aged.status, 0, aged.stderr);
  assert.deepEqual(await records(), all.slice(1));
  const plain = suite.server.docker(['builder', 'prune', '-f']);
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal((await records()).length, 1, 'without -a or filters the cache stays');
  const everything = suite.server.docker(['builder', 'prune', '-a', '-f']);
  assert.equal(everything.status, 0, everything.stderr);
  assert.deepEqual(await records(), [], '-a forgets records whose layers tagged images use too');
});
