import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { parseDuration, parseSize } from '../../src/api/index.js';

// fsck tells blobs nothing uses from blobs the build cache keeps; prune trims the cache by age
// (--filter until=) and by size (--keep-storage), oldest first.
const suite = busyboxStoreForFile('wharf-prune-cache-');

const count = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);

async function buildUntagged(name: string, kb: number): Promise<void> {
  const ctx = await suite.env.context(name, { Dockerfile: `FROM busybox:test\nRUN head -c ${kb * 1000} /dev/urandom > /${name}\n` });
  const r = suite.env.wharf(['build', '-q', ctx]);
  assert.equal(r.status, 0, r.stderr);
}

async function records(): Promise<string[]> {
  return (await readdir(join(suite.env.root, 'cache'))).filter((n) => n.endsWith('.json'));
}

test('durations and sizes parse as docker takes them', () => {
  assert.equal(parseDuration('24h', 'x'), 86_400_000);
  assert.equal(parseDuration('1h30m', 'x'), 5_400_000);
  assert.throws(() => parseDuration('2d', '--filter until=2d'), /--filter until=2d: "2d" is not a duration/);
  assert.equal(parseSize('0'), 0);
  assert.equal(parseSize('512mb'), 512 * 1024 * 1024);
  assert.equal(parseSize('1.5g'), 1.5 * 1024 ** 3);
});

test('fsck counts blobs nothing uses apart from those the build cache keeps; prune removes exactly the former', async () => {
  await buildUntagged('one', 100);
  await buildUntagged('two', 200);
  await buildUntagged('three', 300);
  const f = suite.env.wharf(['fsck']);
  assert.equal(f.status, 0, f.stdout);
  const last = f.stdout.trim().split('\n').at(-1)!;
  const total = count(last, /(\d+) unreferenced blob/);
  const unused = count(last, /(\d+) used by nothing \(`wharf prune` removes them\)/);
  const cached = count(last, /(\d+) kept by the build cache/);
  // Each untagged build leaves a config and a manifest nothing uses, and a layer its record keeps.
  assert.equal(unused, 6, last);
  assert.equal(cached, 3, last);
  assert.equal(total, unused + cached);
  assert.match(f.stdout, /unreferenced: sha256:[0-9a-f]{64} \(kept by the build cache\)/);
  const p = suite.env.wharf(['prune']);
  assert.match(p.stdout, new RegExp(`Deleted ${unused} blob\\(s\\)`));
  assert.match(suite.env.wharf(['fsck']).stdout, /3 unreferenced blob\(s\): 3 kept by the build cache/);
});

test('prune --filter until=24h forgets records older than that, and GC frees their layers', async () => {
  const all = await records();
  assert.equal(all.length, 3);
  // The oldest step ran two days ago.
  const file = join(suite.env.root, 'cache', all[0]!);
  const rec = JSON.parse(await readFile(file, 'utf8')) as { created: string };
  await writeFile(file, JSON.stringify({ ...rec, created: new Date(Date.now() - 2 * 86_400_000).toISOString() }));
  const p = suite.env.wharf(['prune', '--filter', 'until=24h']);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /Deleted 1 build cache record\(s\)\nDeleted 1 blob\(s\)/);
  assert.equal((await records()).length, 2);
  assert.match(suite.env.wharf(['fsck']).stdout, /2 unreferenced blob\(s\): 2 kept by the build cache/);
  assert.match(suite.env.wharf(['prune', '--filter', 'label=x']).stderr, /--filter label=x: wharf prune takes until=DURATION/);
});

test('prune --keep-storage forgets the oldest records until the cache fits', async () => {
  await buildUntagged('four', 400);
  assert.equal((await records()).length, 3);
  // The newest layer is about 400 kB; 450 KiB keeps it alone.
  const p = suite.env.wharf(['prune', '--keep-storage', '450kb']);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /Deleted 2 build cache record\(s\)/);
  assert.equal((await records()).length, 1);
  const again = suite.env.wharf(['build', '--progress', 'plain', await suite.env.context('four', {})]);
  assert.match(again.stderr, /#2 CACHED/, 'the newest record is the one kept');
  assert.match(suite.env.wharf(['prune', '--keep-storage', '0']).stdout, /Deleted 1 build cache record\(s\)/);
  assert.equal((await records()).length, 0);
});
