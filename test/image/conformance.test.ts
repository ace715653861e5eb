import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../helpers/paths.js';
import { reportConformance } from '../helpers/report.js';
import { createOciValidator } from '../helpers/oci-schema.js';
import { chainIds } from '../../src/store/index.js';

const specDir = join(conformanceDir, 'oci', 'image-spec');

interface SchemaCase {
  source?: string;
  file?: string;
  title?: string;
  index?: number;
  validator: string;
  fail: boolean;
  document: string;
}

test('image-spec schema cases and spec examples validate (or are rejected) as upstream expects', () => {
  const data = JSON.parse(readFileSync(join(specDir, 'schema_cases.json'), 'utf8')) as { cases: SchemaCase[]; specExamples: SchemaCase[] };
  const validate = createOciValidator();
  const all = [...data.cases, ...data.specExamples];
  assert.equal(data.cases.length, 71);
  assert.equal(data.specExamples.length, 13);
  const failures: string[] = [];
  for (const c of all) {
    let problems: string[];
    try {
      problems = validate(c.validator, JSON.parse(c.document));
    } catch (e) {
      problems = [`unparsable: ${(e as Error).message}`];
    }
    const rejected = problems.length > 0;
    if (rejected !== c.fail) failures.push(`${c.source ?? c.file}#${c.index ?? c.title}: expected ${c.fail ? 'rejection' : 'acceptance'}, got ${rejected ? problems.join('; ') : 'accepted'}`);
  }
  reportConformance('oci/image-spec schema', all.length - failures.length, all.length);
  assert.deepEqual(failures, []);
});

test('ChainIDs follow the image-spec recipe for every case', () => {
  const data = JSON.parse(readFileSync(join(specDir, 'chainid_cases.json'), 'utf8')) as { cases: { name: string; diffIDs: string[]; chainIDs: string[] }[] };
  let passed = 0;
  for (const c of data.cases) {
    const got = chainIds(c.diffIDs);
    if (JSON.stringify(got) === JSON.stringify(c.chainIDs)) passed++;
    else assert.deepEqual(got, c.chainIDs, c.name);
  }
  reportConformance('oci/image-spec chainid', passed, data.cases.length);
  assert.equal(passed, data.cases.length);
});
