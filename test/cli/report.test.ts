import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { dumpDom, screenshot } from '../helpers/chromium.js';

// `wharf build --report FILE.html`, looked at in headless Chromium: the graph's nodes and the
// timeline's bars are there and coloured as the build went, and the page's script runs cleanly.
const suite = busyboxStoreForFile('wharf-report-');

// Two stages with nothing between them (they run at once), and a last stage copying from both.
const DOCKERFILE = `FROM busybox:test AS left
COPY left.txt /in/
RUN cp /in/left.txt /out.txt && sleep 0.3
FROM busybox:test AS right
RUN echo right > /out.txt
FROM busybox:test
COPY --from=left /out.txt /left.txt
COPY --from=right /out.txt /right.txt
`;

const FILL = { cached: '#c8e6c9', executed: '#ffe0b2', failed: '#ffcdd2', 'not-run': '#fafafa' } as const;

/** The class list of the graph node (or timeline bar) of one step, and its rect's fill. */
function element(dom: string, kind: 'node' | 'bar', id: string): { classes: string[]; fill: string } | undefined {
  const m = new RegExp(`<g class="${kind} ([^"]*)" data-step="${id}"[^>]*>(?:<title>[^<]*</title>)?<rect [^>]*fill="([^"]+)"`).exec(dom);
  return m ? { classes: m[1]!.split(' '), fill: m[2]! } : undefined;
}

/** The report must not fetch anything: no src/href/url()/@import, and no http(s) URL but SVG's namespace. */
function assertSelfContained(html: string): void {
  assert.doesNotMatch(html, /\s(src|href|xlink:href)\s*=/i);
  assert.doesNotMatch(html, /url\((?!#)|@import|<link\b|<iframe\b|<img\b/i);
  const urls = html.match(/https?:\/\/[^\s"'<>)]+/g) ?? [];
  assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg']);
}

test('build --report: a cached and an executed step, two parallel stages and COPY --from, drawn and coloured as the build went', async () => {
  const { env, dir } = suite;
  const ctx = await env.context('parallel', { Dockerfile: DOCKERFILE, 'left.txt': 'one\n' });
  assert.equal((await env.build(ctx)).status, 0);
  await writeFile(join(ctx, 'left.txt'), 'two\n');
  const report = join(dir, 'build.html');
  const r = env.wharf(['build', '--progress', 'plain', '--report', report, ctx]);
  assert.equal(r.status, 0, r.stderr);
  const html = await readFile(report, 'utf8');
  assertSelfContained(html);

  const page = dumpDom(pathToFileURL(report).href);
  assert.deepEqual(page.console, [], 'the page logs nothing on the console');
  assert.match(page.dom, /<html[^>]* data-report-ready="1"/, 'the page script ran to the end');
  assert.doesNotMatch(page.dom, /<html[^>]* data-script-error=/);

  // left: FROM cached, COPY and RUN executed (left.txt changed); right: all cached; last stage:
  // FROM cached, both COPY --from executed (the left stage changed, then the parent did).
  const want: Record<string, keyof typeof FILL> = { s0v0: 'cached', s0v1: 'executed', s0v2: 'executed', s1v0: 'cached', s1v1: 'cached', s2v0: 'cached', s2v1: 'executed', s2v2: 'executed' };
  for (const [id, outcome] of Object.entries(want)) {
    const node = element(page.dom, 'node', id);
    assert.ok(node, `graph node ${id}`);
    assert.ok(node.classes.includes(outcome), `node ${id} is ${outcome}: ${node.classes.join(' ')}`);
    assert.equal(node.fill, FILL[outcome]);
    const bar = element(page.dom, 'bar', id);
    assert.ok(bar, `timeline bar ${id}`);
    assert.ok(bar.classes.includes(outcome), `bar ${id} is ${outcome}`);
    assert.equal(bar.fill, FILL[outcome]);
  }
  assert.equal(page.dom.match(/<g class="node /g)?.length, 8);
  assert.equal(page.dom.match(/<g class="bar /g)?.length, 8);
  // Stages as groups, and an edge for each COPY --from.
  assert.equal(page.dom.match(/<g class="stage" /g)?.length, 3);
  assert.equal(page.dom.match(/<g class="stage-edge copy-from"/g)?.length, 2);
  // The miss reason on hover.
  assert.match(page.dom, /data-step="s0v1"[^>]*><title>#2 COPY left.txt \/in\/ {2}\(line 2\)\nexecuted in \d+ ms\ncache miss \(files\): files: left.txt \(content/);
  // The critical path: the slow left stage, then the last stage's COPY --from of it and the step
  // after; the cached right stage is off it, and so is the last stage's FROM, which ran at once
  // (a stage waits for another only at the step that reads it).
  for (const id of ['s0v2', 's2v1', 's2v2']) assert.ok(element(page.dom, 'bar', id)!.classes.includes('critical'), `${id} on the critical path`);
  for (const id of ['s1v1', 's2v0']) assert.ok(!element(page.dom, 'bar', id)!.classes.includes('critical'), `${id} off the critical path`);
  // The context counters: Dockerfile and left.txt, left.txt hashed again.
  assert.match(page.dom, /<table class="context">.*?<td>2<\/td><td>1<\/td>/s);

  const png = join(dir, 'build.png');
  const shot = screenshot(pathToFileURL(report).href, png);
  assert.deepEqual(shot.console, []);
  const bytes = await readFile(png);
  assert.ok((await stat(png)).size > 5000, 'a screenshot with something on it');
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
});

test('build --report: a failed build still writes the report, the failed step red and what it stopped not run; a click shows its details', async () => {
  const { env, dir } = suite;
  const ctx = await env.context('failing', { Dockerfile: DOCKERFILE.replace('RUN echo right > /out.txt', 'RUN echo nope; exit 7'), 'left.txt': 'one\n' });
  const report = join(dir, 'failed.html');
  const r = env.wharf(['build', '--progress', 'plain', '--report', report, ctx]);
  assert.equal(r.status, 1);
  const html = await readFile(report, 'utf8');
  assertSelfContained(html);
  // The link a click would make: the details panel of the failed step.
  const page = dumpDom(`${pathToFileURL(report).href}#step=0/s1v1`);
  assert.deepEqual(page.console, []);
  const failed = element(page.dom, 'node', 's1v1')!;
  assert.ok(failed.classes.includes('failed'));
  assert.equal(failed.fill, FILL.failed);
  assert.ok(element(page.dom, 'bar', 's1v1')!.classes.includes('failed'));
  // The last stage's COPY --from of the failed stage never ran (its FROM did: it reads no stage).
  assert.ok(element(page.dom, 'node', 's2v2')!.classes.includes('not-run'), 's2v2 not run');
  assert.equal(element(page.dom, 'bar', 's2v2'), undefined, 'a step that never ran has no bar');
  assert.match(page.dom, /<p class="status failed">failed after [\d.]+ m?s: process "\/bin\/sh -c echo nope; exit 7" exited with code 7/);
  assert.match(page.dom, /<aside id="details">/, 'the details panel is shown');
  assert.match(page.dom, /<dt>exit status<\/dt><dd>7<\/dd>/);
  assert.match(page.dom, /<dt>Dockerfile line<\/dt><dd>5<\/dd>/);
});

test('the console check sees what a broken page says: an uncaught error and console.error', async () => {
  const page = join(suite.dir, 'broken.html');
  await writeFile(page, '<!DOCTYPE html><html><body><script>console.error("said on the console"); notDefined();</script></body></html>');
  const r = dumpDom(pathToFileURL(page).href);
  assert.equal(r.console.length, 2, r.console.join('\n'));
  assert.match(r.console[0]!, /said on the console/);
  assert.match(r.console[1]!, /Uncaught ReferenceError: notDefined is not defined/);
});

test('build --report into a directory that does not exist: a usage error naming it, before any build', async () => {
  const { env, dir } = suite;
  const ctx = await env.context('nodir', { Dockerfile: 'FROM busybox:test\nRUN echo hi\n' });
  const r = env.wharf(['build', '--report', join(dir, 'missing', 'r.html'), ctx]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `error: --report ${join(dir, 'missing', 'r.html')}: the directory ${join(dir, 'missing')} does not exist; create it or give a path in an existing directory\n`);
});

test('bench --report: the runs side by side, each step coloured per run, and each run\'s graph a click away', async () => {
  const { env, dir } = suite;
  const ctx = await env.context('bench', { Dockerfile: DOCKERFILE, 'left.txt': 'one\n' });
  const report = join(dir, 'bench.html');
  const r = env.wharf(['bench', '--mode', 'change', '--change', 'left.txt', '--runs', '2', '--report', report, ctx]);
  assert.equal(r.status, 0, r.stderr);
  assertSelfContained(await readFile(report, 'utf8'));
  const page = dumpDom(pathToFileURL(report).href);
  assert.deepEqual(page.console, []);
  const table = /<table class="runs">(.*?)<\/table>/s.exec(page.dom)?.[1];
  assert.ok(table, 'the runs table');
  assert.match(table, /<tr><th>step<\/th><th>warm-up \(not counted\)<\/th><th>run 1\/2<\/th><th>run 2\/2<\/th><\/tr>/);
  // The changed file's COPY runs again in both counted runs; the right stage's RUN is cached in both
  // (the warm-up's column depends on what earlier tests left in the store, so it is not checked).
  const row = (n: number) => new RegExp(`<tr><td class="inst">#${n} [^<]*</td>(.*?)</tr>`).exec(table)?.[1]?.match(/<td class="([^"]+)"/g)?.map((c) => c.slice(11, -1));
  assert.deepEqual(row(2)?.slice(1), ['executed', 'executed']);
  assert.deepEqual(row(5)?.slice(1), ['cached', 'cached']);
  // A section per run, the last one shown; nodes of each run carry its index.
  assert.equal(page.dom.match(/<section class="run" /g)?.length, 3);
  assert.match(page.dom, /<section class="run" data-run="2">/);
  assert.match(page.dom, /<g class="node executed" data-step="s0v1" data-run="1"/);
});
