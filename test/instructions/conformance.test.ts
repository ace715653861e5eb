import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../helpers/paths.js';
import { reportConformance } from '../helpers/report.js';
import { SourceFile, type Diagnostic } from '../../src/diag/index.js';
import { parseDockerfile } from '../../src/syntax/index.js';
import { parseInstruction, type TypedInstruction } from '../../src/instructions/index.js';

interface Cases {
  TestErrorCasesHeredoc: { cases: { name: string; dockerfile: string; expectedError: string }[] };
  TestErrorCases: { cases: { name: string; dockerfile: string; expectedError: string }[] };
  TestCommandsExactlyOneArgument: { commands: string[] };
  TestCommandsAtLeastOneArgument: { commands: string[] };
  TestCommandsNoDestinationArgument: { commands: string[] };
  TestCopyHeredoc: {
    cases: { dockerfile: string; sourcesAndDest: { DestPath: string; SourcePaths?: string[]; SourceContents?: { Path: string; Data: string; Expand: boolean }[] } }[];
  };
  TestRunHeredoc: { cases: { dockerfile: string; command: string[]; shell: boolean; files?: { Name: string; Data: string; Chomp?: boolean }[] }[] };
}
const cases = JSON.parse(readFileSync(join(conformanceDir, 'buildkit', 'heredoc_and_instruction_cases.json'), 'utf8')) as Cases;

/** Parses the first instruction the way BuildKit's ParseInstruction sees it: parser errors count too. */
function first(dockerfile: string): { typed?: TypedInstruction; messages: string[] } {
  const file = new SourceFile('Dockerfile', dockerfile);
  const parsed = parseDockerfile(file);
  const diags: Diagnostic[] = [...parsed.diagnostics];
  const node = parsed.ast?.instructions[0];
  const typed = node ? parseInstruction(node, file, diags) : undefined;
  return { typed, messages: diags.filter((d) => d.severity === 'error').map((d) => d.message) };
}

test('instruction and argument-count errors match BuildKit', () => {
  const checks: [string, string][] = [
    ...cases.TestErrorCasesHeredoc.cases.map((c): [string, string] => [c.dockerfile, c.expectedError]),
    ...cases.TestErrorCases.cases.map((c): [string, string] => [c.dockerfile, c.expectedError]),
    ...cases.TestCommandsExactlyOneArgument.commands.map((c): [string, string] => [c, `${c} requires exactly one argument`]),
    ...cases.TestCommandsAtLeastOneArgument.commands.map((c): [string, string] => [c, `${c} requires at least one argument`]),
    ...cases.TestCommandsNoDestinationArgument.commands.map((c): [string, string] => [
      `${c} arg1`,
      `${c} requires at least two arguments, but only one was provided. Destination could not be determined`,
    ]),
  ];
  const failures: string[] = [];
  for (const [dockerfile, expected] of checks) {
    const { messages } = first(dockerfile);
    if (!messages.some((m) => m.includes(expected))) failures.push(`${JSON.stringify(dockerfile)}: want "${expected}", got ${JSON.stringify(messages)}`);
  }
  reportConformance('buildkit instruction errors', checks.length - failures.length, checks.length);
  assert.deepEqual(failures, []);
});

test('COPY heredoc sources and RUN heredoc files match BuildKit', () => {
  const failures: string[] = [];
  for (const c of cases.TestCopyHeredoc.cases) {
    const { typed, messages } = first(c.dockerfile);
    if (typed?.kind !== 'COPY') {
      failures.push(`${c.dockerfile}: ${messages.join('; ')}`);
      continue;
    }
    const got = {
      DestPath: typed.dest.value,
      SourcePaths: typed.sources.length ? typed.sources.map((s) => s.value) : undefined,
      SourceContents: typed.contents.length ? typed.contents.map((f) => ({ Path: f.name, Data: f.data, Expand: f.expand })) : undefined,
    };
    const want = { DestPath: c.sourcesAndDest.DestPath, SourcePaths: c.sourcesAndDest.SourcePaths, SourceContents: c.sourcesAndDest.SourceContents };
    if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${c.dockerfile}: got ${JSON.stringify(got)}`);
  }
  for (const c of cases.TestRunHeredoc.cases) {
    const { typed, messages } = first(c.dockerfile);
    if (typed?.kind !== 'RUN') {
      failures.push(`${c.dockerfile}: ${messages.join('; ')}`);
      continue;
    }
    const command = typed.command.form === 'exec' ? typed.command.args.map((a) => a.value) : [typed.command.text.value];
    const got = { command, shell: typed.command.form === 'shell', files: typed.files.length ? typed.files.map((f) => ({ Name: f.name, Data: f.data, ...(f.chomp ? { Chomp: true } : {}) })) : undefined };
    const want = { command: c.command, shell: c.shell, files: c.files };
    if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${c.dockerfile}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
  }
  const total = cases.TestCopyHeredoc.cases.length + cases.TestRunHeredoc.cases.length;
  reportConformance('buildkit COPY/RUN heredoc lowering', total - failures.length, total);
  assert.deepEqual(failures, []);
});
