import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarName, fullName, parseReference } from '../../src/store/index.js';

const full = (s: string): string => {
  const r = parseReference(s);
  assert.ok(r.ok, `${s}: ${r.ok ? '' : r.error.message}`);
  return fullName(r.value);
};

test('names normalise like docker: docker.io/library, default tag latest', () => {
  assert.equal(full('app'), 'docker.io/library/app:latest');
  assert.equal(full('app:1'), 'docker.io/library/app:1');
  assert.equal(full('ns/app:1'), 'docker.io/ns/app:1');
  assert.equal(full('docker.io/app'), 'docker.io/library/app:latest');
  assert.equal(full('index.docker.io/ns/app'), 'docker.io/ns/app:latest');
  assert.equal(full('localhost/app'), 'localhost/app:latest');
  assert.equal(full('registry:5000/ns/name:tag'), 'registry:5000/ns/name:tag');
  assert.equal(full('a.b.c/x/y/z:v1.0-rc_1'), 'a.b.c/x/y/z:v1.0-rc_1');
  assert.equal(full('my_app-x.y__z'), 'docker.io/library/my_app-x.y__z:latest');
});

test('a digest pins the image and suppresses the default tag', () => {
  const d = 'sha256:' + 'ab'.repeat(32);
  assert.equal(full(`registry:5000/ns/name:tag@${d}`), `registry:5000/ns/name:tag@${d}`);
  assert.equal(full(`app@${d}`), `docker.io/library/app@${d}`);
  const r = parseReference(`app@${d}`);
  assert.ok(r.ok && r.value.tag === undefined && r.value.digest === d);
});

test('familiar names drop docker.io and library/, as docker prints them', () => {
  const fam = (s: string): string => {
    const r = parseReference(s);
    assert.ok(r.ok);
    return familiarName(r.value);
  };
  assert.equal(fam('docker.io/library/app:1'), 'app:1');
  assert.equal(fam('docker.io/ns/app'), 'ns/app:latest');
  assert.equal(fam('registry:5000/library/app:2'), 'registry:5000/library/app:2');
});

test('invalid references are rejected with a reason', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['App:1', /lowercase/],
    ['app:-x', /invalid tag/],
    ['app:' + 'x'.repeat(129), /invalid tag/],
    ['app@sha256:abc', /digest/],
    ['app@md5:' + 'a'.repeat(32), /unsupported digest/],
    ['a//b', /component ""/],
    ['app_:1', /component/],
    ['-app', /component/],
    ['a b', /whitespace/],
    ['a'.repeat(64), /hexadecimal/],
    ['x/' + 'a'.repeat(300), /longer than 255/],
    ['host:port/app', /registry host/],
  ];
  for (const [input, why] of cases) {
    const r = parseReference(input);
    assert.equal(r.ok, false, `${input} should be rejected`);
    if (!r.ok) {
      assert.match(r.error.message, why, input);
      assert.equal(r.error.code, 'reference.invalid');
    }
  }
});
