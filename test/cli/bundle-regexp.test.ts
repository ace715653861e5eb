// V8 checks a regular expression literal when it compiles the function around it, and a Unicode
// property class (`\p{L}`) costs ~0.35 ms to build there, at every start that calls the function:
// goQuote's class did so in every build that ends in a CMD (bench/README.md, "Speed, twelfth
// round"). Such classes are made from strings at their first use; this keeps it so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../helpers/paths.js';

// In a string the backslash is doubled (`"\\p{L}"`); a single one is a literal's.
const LITERAL_PROPERTY_CLASS = /(?<!\\)\\[pP]\{/;

test('the bundled CLI has no Unicode property class in a regular expression literal', () => {
  const text = readFileSync(join(projectRoot, 'dist', 'wharf.cjs'), 'latin1');
  const m = LITERAL_PROPERTY_CLASS.exec(text);
  const line = m ? text.slice(0, m.index).split('\n').length : 0;
  assert.equal(m, null, `dist/wharf.cjs:${line}: ${m ? text.split('\n')[line - 1]!.trim().slice(0, 160) : ''}`);
});
