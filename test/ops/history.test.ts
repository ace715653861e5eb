import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goDuration, runCreatedBy } from '../../src/ops/history.js';

test("durations print as Go's time.Duration does", () => {
  assert.deepEqual([0, 500, 1500, 500e6, 1.5e9, 30e9, 90e9, 3600e9, 3723e9].map(goDuration), ['0s', '500ns', '1.5µs', '500ms', '1.5s', '30s', '1m30s', '1h0m0s', '1h2m3s']);
});

test('RUN history lists the stage ARGs first, with the value in effect or empty', () => {
  assert.equal(runCreatedBy(['/bin/sh', '-c', 'make'], [], new Map()), 'RUN /bin/sh -c make # buildkit');
  assert.equal(runCreatedBy(['/bin/sh', '-c', 'make'], ['A', 'B'], new Map([['A', '1']])), 'RUN |2 A=1 B= /bin/sh -c make # buildkit');
});
