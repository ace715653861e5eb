import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceFile, formatDiagnostic } from '../../src/diag/index.js';
import { dumpBuildkit, parseDockerfile, unknownInstructionDiagnostics, type Dockerfile } from '../../src/syntax/index.js';
import { suggestInstruction } from '../../src/syntax/hints.js';

function parse(text: string): Dockerfile {
  const r = parseDockerfile(new SourceFile('Dockerfile', text));
  assert.ok(r.ast, r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.ast;
}
function parseError(text: string): string {
  const r = parseDockerfile(new SourceFile('Dockerfile', text));
  assert.equal(r.ast, undefined);
  assert.equal(r.diagnostics.length, 1);
  return formatDiagnostic(r.diagnostics[0]!);
}
const slice = (ast: Dockerfile, r: { start: number; end: number }): string => ast.file.text.slice(r.start, r.end);

test('keywords are case-insensitive; ranges point at keyword, flags and exec-form items', () => {
  const ast = parse('from alpine AS base\nRun --mount=type=cache,target=/root/.cache --network=none ["sh", "-c", "echo hi"]\n');
  const [from, run] = ast.instructions;
  assert.equal(from!.keyword, 'FROM');
  assert.equal(from!.keywordText, 'from');
  assert.deepEqual(from!.args.kind === 'words' && from!.args.words.map((w) => w.value), ['alpine', 'AS', 'base']);
  assert.equal(run!.keyword, 'RUN');
  assert.deepEqual(
    run!.flags.map((f) => [f.name, f.value, slice(ast, f.range)]),
    [
      ['mount', 'type=cache,target=/root/.cache', '--mount=type=cache,target=/root/.cache'],
      ['network', 'none', '--network=none'],
    ],
  );
  assert.equal(run!.args.kind, 'json');
  if (run!.args.kind === 'json') {
    assert.deepEqual(run!.args.items.map((w) => w.value), ['sh', '-c', 'echo hi']);
    assert.equal(slice(ast, run!.args.items[2]!.range), '"echo hi"');
  }
  assert.equal(ast.file.position(run!.keywordRange.start).line, 2);
});

test('invalid JSON falls back to shell form; a non-string array is an error', () => {
  const ast = parse("FROM a\nCMD ['single', 'quotes']\nCMD [\"unterminated\"\n");
  assert.deepEqual(
    ast.instructions.slice(1).map((i) => [i.args.kind, i.args.kind === 'shell' ? i.args.text : undefined]),
    [
      ['shell', "['single', 'quotes']"],
      ['shell', '["unterminated"'],
    ],
  );
  const msg = parseError('FROM a\nRUN ["a", 1]\n');
  assert.match(msg, /^Dockerfile:2:5: error: when using JSON array syntax, arrays must be comprised of strings only/);
});

test('continuations: removed from the text, comment and empty lines inside skipped, lines counted', () => {
  const ast = parse('FROM a\nRUN echo a \\\n# inside\n\n    && echo b\nENV X=1\n');
  const run = ast.instructions[1]!;
  assert.deepEqual(run.args, { kind: 'shell', text: 'echo a     && echo b', range: run.args.range });
  assert.deepEqual([run.startLine, run.endLine], [2, 5]);
  assert.equal(slice(ast, run.range), 'RUN echo a \\\n# inside\n\n    && echo b');
  assert.equal(run.original, slice(ast, run.range));
  assert.deepEqual(ast.comments.map((c) => c.text), [' inside']);
  assert.equal(ast.instructions[2]!.startLine, 6);
  const r = parseDockerfile(new SourceFile('Dockerfile', 'FROM a\nRUN a \\\n\n b\n'));
  assert.deepEqual(r.diagnostics.map((d) => [d.severity, d.code, d.file?.position(d.range!.start).line]), [['warning', 'syntax.empty-continuation', 3]]);
});

test('BOM and CRLF line ends are accepted; positions stay right', () => {
  const ast = parse('\uFEFFFROM a\r\nRUN echo \\\r\n  b\r\nUSER me\r\n');
  assert.equal(dumpBuildkit(ast), '(from "a")\n(run "echo   b")\n(user "me")\n');
  assert.deepEqual(ast.file.position(ast.instructions[2]!.keywordRange.start), { line: 4, col: 1 });
});

test('directives: syntax/escape/check at the top; backtick escape; not after a comment or instruction', () => {
  const ast = parse('# syntax=docker/dockerfile:1\n# escape=`\n# check=skip=all\nFROM a\nRUN echo `\n  b\n# escape=\\\n');
  assert.deepEqual(ast.directives.map((d) => [d.name, d.value]), [
    ['syntax', 'docker/dockerfile:1'],
    ['escape', '`'],
    ['check', 'skip=all'],
  ]);
  assert.equal(ast.escapeChar, '`');
  assert.equal(slice(ast, ast.directives[0]!.valueRange), 'docker/dockerfile:1');
  assert.equal(dumpBuildkit(ast), '(from "a")\n(run "echo   b")\n');
  assert.deepEqual(ast.comments.map((c) => c.text), [' escape=\\']);
  const late = parse('# hello\n# escape=`\nFROM a\n');
  assert.deepEqual(late.directives, []);
  assert.equal(late.escapeChar, '\\');
});

test('bad directives are errors: repeated, invalid escape token', () => {
  assert.match(parseError('# escape=`\n# escape=\\\nFROM a\n'), /Dockerfile:2:1: error: only one escape parser directive can be used/);
  assert.match(parseError('# escape=x\nFROM a\n'), /Dockerfile:1:10: error: invalid escape token 'x' does not match ` or \\/);
});

test('heredocs: several per line, fd prefix, quoted delimiter, chomp flag; unterminated is an error', () => {
  const ast = parse('FROM a\nCOPY <<A 3<<-"B" /dst/\none\nA\n\ttwo $x\n\tB\nRUN ls\n');
  const copy = ast.instructions[1]!;
  assert.deepEqual(
    copy.heredocs.map((h) => [h.name, h.content, h.expand, h.chomp, h.fileDescriptor, slice(ast, h.range)]),
    [
      ['A', 'one\n', true, false, 0, '<<A'],
      ['B', '\ttwo $x\n', false, true, 3, '3<<-"B"'],
    ],
  );
  assert.deepEqual([copy.startLine, copy.endLine], [2, 6]);
  assert.equal(ast.instructions[2]!.keyword, 'RUN');
  const msg = parseError('FROM a\nRUN <<EOF\necho hi\n');
  assert.match(msg, /^Dockerfile:2:5: error: unterminated heredoc EOF\n 2 \| RUN <<EOF\n   \|     \^\^\^\^\^/);
});

test('ENV/LABEL: key=value pairs keep raw values; the legacy form is one pair with empty separator', () => {
  const ast = parse('FROM a\nENV A="x y" B=z\\ w\nENV LEGACY value with spaces\nLABEL k=v\n');
  const [, env, legacy] = ast.instructions;
  assert.ok(env!.args.kind === 'keyValue' && legacy!.args.kind === 'keyValue');
  assert.deepEqual(env!.args.pairs.map((p) => [p.key, p.value, p.separator]), [
    ['A', '"x y"', '='],
    ['B', 'z\\ w', '='],
  ]);
  assert.equal(env!.args.legacy, false);
  assert.deepEqual(legacy!.args.pairs.map((p) => [p.key, p.value, slice(ast, p.valueRange)]), [['LEGACY', 'value with spaces', 'value with spaces']]);
  assert.equal(legacy!.args.legacy, true);
  assert.match(parseError('FROM a\nENV a=b c\n'), /can't find = in "c"/);
});

test('ONBUILD nests its trigger; ONBUILD ONBUILD, FROM and MAINTAINER triggers are reported', () => {
  const ast = parse('FROM a\nONBUILD RUN echo hi\n');
  const trigger = ast.instructions[1]!.trigger;
  assert.equal(trigger?.keyword, 'RUN');
  assert.equal(slice(ast, trigger!.range), 'RUN echo hi');
  for (const [text, msg] of [
    ['FROM a\nONBUILD ONBUILD RUN x\n', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed'],
    ['FROM a\nONBUILD FROM b\n', "FROM isn't allowed as an ONBUILD trigger"],
    ['FROM a\nONBUILD maintainer me\n', "MAINTAINER isn't allowed as an ONBUILD trigger"],
  ] as const) {
    const r = parseDockerfile(new SourceFile('Dockerfile', text));
    assert.ok(r.ast);
    assert.deepEqual(r.diagnostics.map((d) => d.message), [msg]);
    assert.equal(r.diagnostics[0]!.file?.position(r.diagnostics[0]!.range!.start).col, 9);
  }
});

test('unknown instructions stay nodes; the diagnostic helper suggests the nearest keyword', () => {
  const ast = parse('FROM a\nCOPPY . /app\nFROBNICATE x\n');
  assert.deepEqual(ast.instructions.map((i) => i.known), [true, false, false]);
  assert.equal(dumpBuildkit(ast), '(from "a")\n(coppy "")\n(frobnicate "")\n');
  const ds = unknownInstructionDiagnostics(ast);
  assert.equal(formatDiagnostic(ds[0]!), ['Dockerfile:2:1: error: unknown instruction: COPPY', ' 2 | COPPY . /app', '   | ^^^^^', 'hint: did you mean COPY?'].join('\n'));
  assert.equal(suggestInstruction('FROBNICATE'), undefined);
  assert.equal(suggestInstruction('workdri'), 'WORKDIR');
});

test('an empty or comment-only file is an error', () => {
  assert.match(parseError(''), /file with no instructions/);
  assert.match(parseError('# only\n\n'), /file with no instructions/);
});

test('parsing is linear: 20x the lines take well under 60x the time', () => {
  const make = (n: number): string => {
    const lines = ['FROM scratch'];
    for (let i = 0; i < n; i++) lines.push(i % 2 ? `RUN echo ${i} && \\\n  true` : `ENV K${i}=v${i} L${i}="x y"`);
    return lines.join('\n') + '\n';
  };
  const time = (text: string): number => {
    const t0 = performance.now();
    const r = parseDockerfile(new SourceFile('Dockerfile', text));
    assert.ok(r.ast);
    return performance.now() - t0;
  };
  time(make(2000)); // warm up the JIT
  const small = Math.min(time(make(1000)), time(make(1000)));
  const big = time(make(20000));
  assert.ok(big < small * 60, `1k lines ${small.toFixed(1)} ms, 20k lines ${big.toFixed(1)} ms`);
});

test('odd blanks and a bare -- before the arguments or an ONBUILD trigger still lex', () => {
  const ast = parse('FROM a\nONBUILD -- RUN z\nADD\r--\t[ "p" ]\n');
  assert.equal(dumpBuildkit(ast), '(from "a")\n(onbuild (run "z"))\n(add "p")\n');
  // A non-ASCII blank after `--` used to leave the lexer without a rule (found by fuzzing).
  assert.equal(parse('FROM a\nCOPY --\u00a0x y\n').instructions[1]!.keyword, 'COPY');
});
