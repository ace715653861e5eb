import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goQuote, goQuoteList } from '../../src/util/go-quote.js';

// Go's strconv.Quote, rune class by rune class (the Unicode class is made at its first use).
test('goQuote escapes as Go does: C escapes, \\xNN, printable Unicode as is, \\u and \\U otherwise', () => {
  assert.equal(goQuote('cat'), '"cat"');
  assert.equal(goQuote('a"b\\c\n\t\x07'), '"a\\"b\\\\c\\n\\t\\a"');
  assert.equal(goQuote('\x01\x7f'), '"\\x01\\x7f"');
  assert.equal(goQuote('é한국어 ٣'), '"é한국어 ٣"');
  assert.equal(goQuote('\u00a0\u200b'), '"\\u00a0\\u200b"');
  assert.equal(goQuote('\u{1F600}\u{E0001}'), '"\u{1F600}\\U000e0001"');
  assert.equal(goQuote('\ud800'), '"\uFFFD"');
  assert.equal(goQuoteList(['cat', '/parts/manifest.txt']), '["cat" "/parts/manifest.txt"]');
});
