import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxStoreForFile, cachedFlags } from '../helpers/wharf-build.js';

// `wharf plan --format dot --cache`: each step filled by whether a cache record exists for it now.
const suite = busyboxStoreForFile('wharf-plan-cache-');

const DOCKERFILE = `FROM busybox:test AS lib
COPY lib.txt /lib.txt
FROM busybox:test
WORKDIR /app
COPY app.txt ./
COPY --from=lib /lib.txt ./
RUN cat app.txt lib.txt > both.txt
CMD ["cat", "both.txt"]
`;

/** Node id → `cached` / `missing` / `none` (a step without a fill: metadata). */
function fills(dot: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of dot.matchAll(/^ {4}"(s\d+v\d+)" \[(.*)\];$/gm)) out[m[1]!] = /class="cached"/.test(m[2]!) ? 'cached' : /class="missing"/.test(m[2]!) ? 'missing' : 'none';
  return out;
}

test('plan --format dot --cache: green where a record exists now, orange where the step would run; nothing is recorded', async () => {
  const { env } = suite;
  const ctx = await env.context('app', { Dockerfile: DOCKERFILE, 'app.txt': 'a\n', 'lib.txt': 'l\n' });
  const plan = () => {
    const r = env.wharf(['plan', '--format', 'dot', '--cache', ctx]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  // Before any build: only the FROMs (the base is in the store).
  assert.deepEqual(fills(plan()), { s0v0: 'cached', s0v1: 'missing', s1v0: 'cached', s1v1: 'missing', s1v2: 'missing', s1v3: 'missing', s1v4: 'missing', s1v5: 'none' });
  assert.equal((await env.build(ctx)).status, 0);
  assert.deepEqual(fills(plan()), { s0v0: 'cached', s0v1: 'cached', s1v0: 'cached', s1v1: 'cached', s1v2: 'cached', s1v3: 'cached', s1v4: 'cached', s1v5: 'none' });

  // A changed lib.txt: its COPY, the COPY --from that reads the stage, and the RUN after it.
  await writeFile(join(ctx, 'lib.txt'), 'changed\n');
  const dot = plan();
  assert.deepEqual(fills(dot), { s0v0: 'cached', s0v1: 'missing', s1v0: 'cached', s1v1: 'cached', s1v2: 'cached', s1v3: 'missing', s1v4: 'missing', s1v5: 'none' });
  assert.match(dot, /"s0v1" \[label="COPY lib.txt \/lib.txt", style=filled, fillcolor="#ffe0b2"/);
  // Graphviz reads it, with the classes on the SVG nodes.
  const svg = execFileSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8' });
  assert.equal(svg.match(/class="node missing"/g)?.length, 3);
  assert.match(svg, /no cache record \(would run\)/, 'the legend');

  // The plan made no records: the build still runs those steps, as the picture said.
  const built = await env.build(ctx);
  assert.equal(built.status, 0);
  assert.deepEqual(cachedFlags(built.meta!), [true, false, true, true, true, false, false]);
});

test('plan --cache without --format dot: a usage error that says what to add', () => {
  const r = suite.env.wharf(['plan', '--cache', '.']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'error: --cache colours the graph of --format dot; add --format dot (this is --format text)\n');
});
