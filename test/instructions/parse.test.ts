import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAst } from '../helpers/parse-ast.js';
import { lintDockerfile, parseInstruction, type TypedInstruction } from '../../src/instructions/index.js';
import { parseGoDuration } from '../../src/instructions/parse.js';
import type { Diagnostic } from '../../src/diag/index.js';

function parseOne(line: string): { typed?: TypedInstruction; diags: Diagnostic[]; text: string } {
  const ast = parseAst(line);
  const diags: Diagnostic[] = [];
  const typed = parseInstruction(ast.instructions[0]!, ast.file, diags);
  return { typed, diags, text: line };
}

const firstError = (line: string): Diagnostic => {
  const { diags } = parseOne(line);
  assert.ok(diags.length > 0, `expected an error for ${line}`);
  return diags[0]!;
};

test('an unknown flag is an error at the flag with a hint', () => {
  const line = 'COPY --form=build a b';
  const d = firstError(line);
  assert.equal(d.message, 'unknown flag: --form');
  assert.deepEqual(d.range, { start: 5, end: 5 + '--form=build'.length });
  assert.equal(d.hint, 'did you mean --from?');
  assert.equal(firstError('MAINTAINER --boo joe@example.com').message, 'unknown flag: --boo');
  assert.equal(firstError('MAINTAINER --boo joe@example.com').hint, 'MAINTAINER takes no flags');
});

test('bad flag values are errors with a hint', () => {
  const cases: [string, RegExp][] = [
    ['RUN --network=bridge x', /unsupported network mode: bridge/],
    ['RUN --security=root x', /unsupported security mode/],
    ['RUN --mount=type=nfs,target=/x x', /unsupported mount type "nfs"/],
    ['RUN --mount=type=cache,target=/x,sharing=all x', /unsupported sharing value/],
    ['RUN --mount=type=cache,target=/x,mode=999 x', /invalid value for mode/],
    ['RUN --mount=type=bind,target=/x,size=1m x', /unexpected key 'size'/],
    ['RUN --mount=type=tmpfs,target=/x,size=lots x', /invalid value for size/],
    ['RUN --mount=type=cache,target=/x,bogus=1 x', /unexpected key 'bogus'/],
    ['RUN --mount=type=secret,target=/x,env x', /must be a key=value pair/],
    ['COPY --link=maybe a b', /expecting boolean value/],
    ['COPY --from a b', /missing a value on flag: --from/],
    ['COPY --chown=1 --chown=2 a b', /duplicate flag/],
    ['COPY --chmod=999 a b', /invalid chmod/],
    ['ADD --checksum=md5:x a b', /invalid checksum/],
    ['COPY --checksum=sha256:00 a b', /unknown flag: --checksum/],
    ['HEALTHCHECK --interval=5 CMD true', /invalid duration/],
    ['HEALTHCHECK --timeout=10us CMD true', /less than 1ms/],
    ['HEALTHCHECK --retries=-1 CMD true', /cannot be negative/],
  ];
  for (const [line, re] of cases) {
    const d = firstError(line);
    assert.match(d.message, re, line);
    assert.ok(d.range && d.range.start > 0, line);
  }
});

test('every documented flag is accepted', () => {
  const ok = [
    'FROM --platform=linux/arm64 img AS x',
    'RUN --mount=type=bind,src=/a,dst=/b,from=x,rw --mount=type=cache,id=c,target=/c,sharing=locked,mode=0700,uid=1,gid=2,ro --mount=type=tmpfs,target=/t,size=64m --mount=type=secret,id=s,env=TOKEN,required --mount=type=ssh,required=true --network=none --security=insecure x',
    'COPY --from=x --chown=1:2 --chmod=0644 --link --parents --exclude=*.md --exclude=tmp a b',
    'ADD --chown=u --chmod=u+x --link=false --keep-git-dir --checksum=sha256:' + 'a'.repeat(64) + ' --exclude=x --unpack=true a b',
    'HEALTHCHECK --interval=30s --timeout=1m30s --start-period=5s --start-interval=500ms --retries=3 CMD ["true"]',
  ];
  for (const line of ok) {
    const { typed, diags } = parseOne(line);
    assert.deepEqual(diags.map((d) => d.message), [], line);
    assert.ok(typed, line);
  }
  const hc = parseOne(ok[4]!).typed;
  assert.ok(hc?.kind === 'HEALTHCHECK');
  assert.deepEqual(hc.options, { interval: 30e9, timeout: 90e9, startPeriod: 5e9, startInterval: 500e6, retries: 3 });
});

test('argument-count and trigger errors use BuildKit messages', () => {
  for (const kw of ['MAINTAINER', 'WORKDIR', 'USER', 'STOPSIGNAL']) assert.equal(firstError(kw).message, `${kw} requires exactly one argument`);
  for (const kw of ['ENV', 'LABEL', 'ONBUILD', 'HEALTHCHECK', 'EXPOSE', 'VOLUME']) assert.equal(firstError(kw).message, `${kw} requires at least one argument`);
  for (const kw of ['ADD', 'COPY'])
    assert.equal(firstError(`${kw} arg1`).message, `${kw} requires at least two arguments, but only one was provided. Destination could not be determined`);
  assert.equal(firstError('FOO bar').message, 'unknown instruction: FOO');
  assert.equal(firstError('foo bar').message, 'unknown instruction: foo');
  assert.equal(firstError('SHELL /bin/sh -c').message, 'SHELL requires the arguments to be in JSON form');
  assert.equal(firstError('FROM a b').message, 'FROM requires either one or three arguments');
  assert.match(firstError('FROM a AS 1x').message, /invalid name for build stage/);
  assert.match(firstError('HEALTHCHECK BOGUS x').message, /Unknown type "BOGUS" in HEALTHCHECK/);
});

test('Go durations convert to nanoseconds', () => {
  assert.equal(parseGoDuration('1h2m3.5s'), 3723.5e9);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('10'), undefined);
});

test('lint warns about MAINTAINER, legacy ENV, shell-form CMD, stage name and AS casing', () => {
  const ast = parseAst('FROM a as Build\nMAINTAINER me\nENV k v\nCMD run it\nENTRYPOINT ["ok"]\nfrom b AS c');
  assert.deepEqual(lintDockerfile(ast).map((d) => d.code), [
    'lint.stage-name-casing',
    'lint.from-as-casing',
    'lint.maintainer-deprecated',
    'lint.legacy-key-value-format',
    'lint.json-args-recommended',
    'lint.consistent-instruction-casing',
    'lint.from-as-casing',
  ]);
});

test('lint warns about repeated CMD in a stage, reserved stage names and secrets in ARG/ENV', () => {
  const ast = parseAst('FROM a AS scratch\nCMD ["a"]\nCMD ["b"]\nARG GITHUB_TOKEN\nARG PUBLIC_KEY\nENV DB_PASSWORD=x MONKEY=y\nFROM b\nCMD ["c"]');
  const got = lintDockerfile(ast).map((d) => [d.code, ast.file.text.slice(d.range!.start, d.range!.end)]);
  assert.deepEqual(got, [
    ['lint.reserved-stage-name', 'scratch'],
    ['lint.secrets-in-arg-or-env', 'GITHUB_TOKEN'],
    ['lint.secrets-in-arg-or-env', 'DB_PASSWORD'],
    ['lint.multiple-instructions', 'CMD'],
  ]);
  assert.equal(got.at(-1)![1], 'CMD');
});

test('lint checks instruction casing against the majority and FROM --platform values', () => {
  const ast = parseAst('FROM --platform=$TARGETPLATFORM a\nRUN x\ncopy a b\nFROM --platform=linux/amd64 b\nFROM --platform=linux/arm64 c AS build-arm64\nFROM --platform=$BUILDPLATFORM d');
  assert.deepEqual(lintDockerfile(ast).map((d) => [d.code, ast.file.text.slice(d.range!.start, d.range!.end)]), [
    ['lint.redundant-target-platform', '--platform=$TARGETPLATFORM'],
    ['lint.consistent-instruction-casing', 'copy'],
    ['lint.from-platform-flag-const-disallowed', '--platform=linux/amd64'],
  ]);
});
