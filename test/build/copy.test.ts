import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { cachedFlags, busyboxStoreForFile } from '../helpers/wharf-build.js';
import { openStore } from '../../src/store/index.js';
import { loadImage } from '../../src/image/index.js';

// COPY/ADD features beyond the basics, built for real on a busybox base: --parents, --exclude,
// symbolic --chmod, globs in --from sources, heredocs mixed with files, ADD heredocs, ADD of a
// compressed non-tar, ADD --unpack=false, and the errors for what is wrong or unsupported.
const suite = busyboxStoreForFile('wharf-copy-');

const FEATURES = `FROM busybox:test AS base
RUN mkdir -p /test/a/b/c/d/e /test/a/b2/c/d/e /data && touch /test/a/b/c/d/foo /test/a/b/c/d/e/bay /test/a/b2/c/d/e/bar \\
 && echo one > /data/one.so && echo two > /data/two.so && echo notes > /data/notes.txt

FROM busybox:test
COPY --parents src/app/main.c src/lib/*.h /p/
COPY --parents src/./app /pv/
COPY --exclude=*.log --exclude=tmp logs/ /logs/
COPY --from=base --parents /test/a/b*/./c/**/e /fromp/
COPY --from=base --exclude=*.txt /data/* /so/
COPY --chmod=u=rwx,go=rx run.sh /bin/run-sym
COPY --chmod=a-w,u+X tree/ /sym/
COPY --from=base --chmod=go-rwx /data/two.so /so/private
COPY one.txt <<EOF /mixed/
inline
EOF
ADD --chown=app --chmod=u+x <<EOF /etc/added.sh
echo added
EOF
ADD plain.gz /gz/
ADD --unpack=false layer.tar /kept-tar/
`;

test('--parents, --exclude, symbolic --chmod, --from globs, heredocs with files, ADD heredocs and non-tar archives', async () => {
  const ctx = await suite.env.context('features', {
    Dockerfile: FEATURES,
    'src/app/main.c': 'int main;\n',
    'src/lib/x.h': '#pragma once\n',
    'src/lib/x.c': 'not copied\n',
    'logs/keep.txt': 'keep\n',
    'logs/a.log': 'log\n',
    'logs/tmp/x': 'tmp\n',
    'run.sh': 'echo run\n',
    'tree/f': 'f\n',
    'tree/x': 'x\n',
    'tree/d/g': 'g\n',
    'one.txt': '1\n',
  });
  await chmod(join(ctx, 'tree/x'), 0o755);
  await writeFile(join(ctx, 'plain.gz'), gzipSync('plain text, not a tar\n'));
  execFileSync('tar', ['-C', ctx, '-cf', join(ctx, 'layer.tar'), 'one.txt']);
  const r = await suite.env.build(ctx, ['-t', 'features:1']);
  assert.equal(r.status, 0, r.stderr);
  const out = suite.env.wharf(['run', '-u', '0', 'features:1', 'sh', '-c', [
    'cd / && find p pv logs fromp so sym mixed gz kept-tar | sort',
    'stat -c "%n %a" bin/run-sym sym sym/f sym/x sym/d sym/d/g so/private mixed/EOF etc/added.sh',
    'stat -c "%n %u:%g" etc/added.sh',
    'cat mixed/EOF mixed/one.txt so/private && sh /etc/added.sh && gzip -dc gz/plain.gz',
  ].join('; ')]);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout, [
    'fromp', 'fromp/c', 'fromp/c/d', 'fromp/c/d/e', 'fromp/c/d/e/bar', 'fromp/c/d/e/bay',
    'gz', 'gz/plain.gz',
    'kept-tar', 'kept-tar/layer.tar',
    'logs', 'logs/keep.txt',
    'mixed', 'mixed/EOF', 'mixed/one.txt',
    'p', 'p/src', 'p/src/app', 'p/src/app/main.c', 'p/src/lib', 'p/src/lib/x.h',
    'pv', 'pv/app', 'pv/app/main.c',
    'so', 'so/one.so', 'so/private', 'so/two.so',
    'sym', 'sym/d', 'sym/d/g', 'sym/f', 'sym/x',
    'bin/run-sym 755', 'sym 755', 'sym/f 444', 'sym/x 555', 'sym/d 555', 'sym/d/g 444', 'so/private 600', 'mixed/EOF 644', 'etc/added.sh 744',
    'etc/added.sh 1234:2345',
    'inline', '1', 'two', 'added', 'plain text, not a tar', '',
  ].join('\n'));

  // The --parents layer holds exactly the kept paths and the directories above them.
  const store = await openStore(suite.env.root);
  const img = await loadImage(store, 'features:1');
  const base = await loadImage(store, 'busybox:test');
  const parentsLayer = img.manifest.layers[base.manifest.layers.length]!;
  const listing = execFileSync('tar', ['-tf', store.path(parentsLayer.digest)], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  assert.deepEqual(listing, ['p/', 'p/src/', 'p/src/app/', 'p/src/app/main.c', 'p/src/lib/', 'p/src/lib/x.h']);

  const again = await suite.env.build(ctx, ['-t', 'features:1']);
  assert.ok(cachedFlags(again.meta!).every(Boolean), 'a rebuild hits every step');
});

test('an excluded file is not in the COPY key: changing it stays cached, changing a copied file misses', async () => {
  const ctx = await suite.env.context('exclude-cache', {
    Dockerfile: 'FROM busybox:test\nCOPY --exclude=*.log --exclude=cache/ app/ /app/\nRUN ls -R /app > /listing\n',
    'app/main.txt': 'main\n',
    'app/debug.log': 'one\n',
    'app/cache/blob': 'x\n',
  });
  const first = await suite.env.build(ctx);
  assert.equal(first.status, 0, first.stderr);
  await writeFile(join(ctx, 'app/debug.log'), 'two\n');
  await writeFile(join(ctx, 'app/cache/blob'), 'y\n');
  await writeFile(join(ctx, 'app/new.log'), 'new\n');
  const excludedChanged = await suite.env.build(ctx);
  assert.deepEqual(cachedFlags(excludedChanged.meta!), [true, true, true]);
  await writeFile(join(ctx, 'app/main.txt'), 'changed\n');
  const copiedChanged = await suite.env.build(ctx);
  assert.deepEqual(cachedFlags(copiedChanged.meta!), [true, false, false]);
  assert.match(copiedChanged.stderr, /cache miss: files: app\/main\.txt \(content: size 5 → 8\)\n/);
});

test('a bad --chmod names file:line:col and how to write a mode; unsupported and unmatched sources say so', async () => {
  const literal = await suite.env.context('bad-chmod', { Dockerfile: 'FROM busybox:test\nCOPY --chmod=u+q a /a\n', a: 'a' });
  const l = await suite.env.build(literal);
  assert.equal(l.status, 1);
  assert.match(l.stderr, /Dockerfile:2:\d+/);
  assert.match(l.stderr, /invalid chmod value: u\+q/);
  assert.match(l.stderr, /u=rwx,go=rx/);
  assert.match(l.stderr, /\^/);
  const viaArg = await suite.env.context('bad-chmod-arg', { Dockerfile: 'FROM busybox:test\nARG MODE=8\nCOPY --chmod=$MODE a /a\n', a: 'a' });
  const v = await suite.env.build(viaArg);
  assert.equal(v.status, 1);
  assert.match(v.stderr, /Dockerfile:3:\d+/);
  assert.match(v.stderr, /invalid chmod value: 8/);
  assert.doesNotMatch(v.stderr, /\n\s+at /, 'no stack trace');
  const git = await suite.env.context('keep-git', { Dockerfile: 'FROM busybox:test\nADD --keep-git-dir=true a /a\n', a: 'a' });
  const g = await suite.env.build(git);
  assert.equal(g.status, 1);
  assert.match(g.stderr, /ADD --keep-git-dir \(git sources\) is not supported yet/);
  const checksum = await suite.env.context('checksum-local', { Dockerfile: `FROM busybox:test\nADD --checksum=sha256:${'0'.repeat(64)} a /a\n`, a: 'a' });
  assert.match((await suite.env.build(checksum)).stderr, /checksum can't be specified for non-HTTP\(S\) sources/);
  const nomatch = await suite.env.context('from-nomatch', { Dockerfile: 'FROM busybox:test AS s\nFROM busybox:test\nCOPY --from=s /bin/nothing* /x/\n' });
  const n = await suite.env.build(nomatch);
  assert.equal(n.status, 1);
  assert.match(n.stderr, /"\/bin\/nothing\*" not found in the source stage/);
});
