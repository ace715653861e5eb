import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandWord } from '../../src/shell/index.js';

// BuildKit's lexer takes unicode.IsLetter and unicode.IsDigit for name characters; ASCII is tested
// without a regular expression, the rest against Unicode classes.
test('variable names: ASCII and Unicode letters and digits, and nothing else', () => {
  const env = new Map([
    ['a_Z9', 'ascii'],
    ['é٣', 'unicode'],
    ['x', 'short'],
  ]);
  const value = (w: string) => {
    const r = expandWord(w, env);
    assert.ok(r.ok, w);
    return r.value.value;
  };
  assert.equal(value('$a_Z9!'), 'ascii!');
  assert.equal(value('$é٣.'), 'unicode.');
  assert.equal(value('${é٣}'), 'unicode');
  assert.equal(value('$x-y'), 'short-y');
  assert.equal(value('$x\u00a0'), 'short\u00a0');
  assert.equal(value('$x٫'), 'short٫');
});
