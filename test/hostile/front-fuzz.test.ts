/**
 * The fuzz campaign (test/fuzz/, `npm run fuzz`) at a small count with a fixed seed, on every CI
 * run: mutated Dockerfiles through parse and plan in-process and a sample through the real CLI,
 * and mutated archives through `wharf load -i` and `wharf import`. No stack trace, no hang.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveBases, archives, dockerfilesInProcess, dockerfilesThroughCli, type CampaignOptions } from '../fuzz/campaign.js';
import { formatPart, traceCount, type PartReport } from '../fuzz/report.js';
import { wharfBin } from '../helpers/paths.js';

const SEED = 13;
let tmp: string;
let base: Omit<CampaignOptions, 'from' | 'to'>;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'wharf-front-fuzz-'));
  base = { seed: SEED, timeoutMs: 10_000, jobs: 2, bin: wharfBin, tmp };
});
after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function clean(part: PartReport): void {
  const report = formatPart(part);
  assert.ok(part.tried > 0, report);
  assert.equal(traceCount(part), 0, report);
  assert.equal(part.hangs.length, 0, report);
  // Every refusal says what is wrong.
  assert.equal(part.unclear.length, 0, report);
}

test('600 mutated Dockerfiles through parse + plan in-process: no stack trace, no hang', async () => {
  const part = await dockerfilesInProcess({ ...base, from: 0, to: 600 });
  clean(part);
  assert.ok(part.refused > 0 && part.accepted > 0, 'the mutations make both valid and invalid Dockerfiles');
});

test('20 of them through wharf plan and wharf parse: no stack trace, no hang', async () => {
  clean(await dockerfilesThroughCli({ ...base, from: 0, to: 600 }, 20));
});

test('30 mutated archives through wharf load -i and wharf import: no stack trace, no hang', async () => {
  const bases = await archiveBases({ ...base, from: 0, to: 0 });
  clean(await archives({ ...base, from: 0, to: 30 }, bases));
});
