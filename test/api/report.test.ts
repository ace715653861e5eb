// A library caller gets the report `wharf build --report` writes: the build's events collected
// into a record (steps, cached or run) and the HTML page drawn from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, renderReportHtml, reportCollector } from '../../src/api/index.js';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';

const suite = busyboxStoreForFile('wharf-api-report-');

test('reportCollector + renderReportHtml: a build\'s steps, then a cached rebuild', async () => {
  const ctx = await suite.env.context('r', { Dockerfile: 'FROM busybox:test\nRUN echo reported > /r\n' });
  const first = reportCollector();
  await build({ root: suite.env.root, context: ctx }, { onEvent: first.sink });
  const second = reportCollector();
  await build({ root: suite.env.root, context: ctx }, { onEvent: second.sink });
  const [a, b] = [first.record('build 1'), second.record('build 2')];
  assert.equal(a.label, 'build 1');
  assert.ok(a.ok && b.ok);
  const outcomes = (r: typeof a) => Object.values(r.steps).map((s) => s.outcome);
  assert.ok(outcomes(a).includes('executed'), outcomes(a).join());
  assert.ok(outcomes(b).length > 0 && outcomes(b).every((o) => o === 'cached'), outcomes(b).join());
  const html = renderReportHtml({ title: 'wharf build r', runs: [a, b] });
  assert.match(html, /^<!DOCTYPE html>/i);
  assert.match(html, /echo reported/);
  assert.match(html, /wharf build r/);
});
