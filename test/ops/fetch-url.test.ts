import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkChecksumFlag, urlFileName } from '../../src/ops/copy/fetch-url.js';
import { isUserError } from '../../src/util/index.js';

test('the file name is the decoded path base, so %2F cannot put a / or .. into it', () => {
  assert.equal(urlFileName('http://h/a/b.txt?x=1'), 'b.txt');
  assert.equal(urlFileName('http://h/x/..%2F..%2Fetc%2Fpasswd'), 'passwd');
  assert.equal(urlFileName('http://h/a%20b'), 'a b');
  assert.equal(urlFileName('http://h/'), '__unnamed__');
});

test('--checksum: only for http(s) sources, and only as algo:hex', () => {
  const refused = (f: () => void, re: RegExp) => assert.throws(f, (e: unknown) => isUserError(e) && re.test(e.message));
  refused(() => checkChecksumFlag('ADD', ['local.txt'], `sha256:${'0'.repeat(64)}`), /non-HTTP\(S\) sources/);
  refused(() => checkChecksumFlag('ADD', ['http://h/f'], 'abcdef0'), /is not a digest/);
  refused(() => checkChecksumFlag('ADD', ['http://h/f', 'http://h/g'], `sha256:${'0'.repeat(64)}`), /multiple sources/);
  checkChecksumFlag('ADD', ['http://h/f'], `sha512:${'0'.repeat(128)}`);
  checkChecksumFlag('ADD', ['local.txt'], undefined);
});
