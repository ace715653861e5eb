// util/clock.ts: isoTime is toISOString made from the UTC fields (no time zone set-up), so it must
// say what toISOString says for every time a Date holds, and refuse what it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoTime } from '../../src/util/index.js';

test('isoTime writes what toISOString writes, years before 0 and after 9999 included', () => {
  const edges = [0, -1, 1, Date.now(), 253402300799999, 253402300800000, -62167219200000, -62167219200001, 8.64e15, -8.64e15, 951782400000, 1709164800123];
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const times = [...edges, ...Array.from({ length: 2000 }, () => Math.trunc(random() * 8.64e15))];
  for (const t of times) assert.equal(isoTime(t), new Date(t).toISOString(), `time ${t}`);
});

test('isoTime refuses what toISOString refuses', () => {
  for (const t of [NaN, 8.64e15 + 1, -8.64e15 - 1, Infinity]) {
    assert.throws(() => new Date(t).toISOString(), RangeError);
    assert.throws(() => isoTime(t), RangeError);
  }
});
