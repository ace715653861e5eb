import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argEnvEarly, mergeAdvice, usesVariable, type BuildFacts, type OutlineInstruction } from '../../src/advice/index.js';

// The rules as pure functions, on outlines written by hand: the cases a real build makes slowly.
const at = (line: number, text: string, extra: Partial<OutlineInstruction> = {}): OutlineInstruction => ({
  line,
  endLine: line,
  keyword: text.split(' ')[0]!,
  text,
  declares: [],
  ...extra,
});

test('usesVariable: a RUN names the variable anywhere or dumps the environment; other instructions expand it', () => {
  const run = (t: string) => at(1, `RUN ${t}`);
  assert.equal(usesVariable(run('echo $V'), 'V'), true);
  assert.equal(usesVariable(run('printenv V'), 'V'), true);
  assert.equal(usesVariable(run('python -c "import os; print(os.environ[\'V\'])"'), 'V'), true);
  assert.equal(usesVariable(run('env | sort > /e'), 'V'), true);
  assert.equal(usesVariable(run('echo $VERSION_X'), 'VERSION'), false);
  assert.equal(usesVariable(run('set -e; make'), 'V'), false);
  assert.equal(usesVariable(at(1, 'COPY app-${V}.tar /'), 'V'), true);
  assert.equal(usesVariable(at(1, 'LABEL v=$V'), 'V'), true);
  assert.equal(usesVariable(at(1, 'WORKDIR /V'), 'V'), false);
  assert.equal(usesVariable(at(1, 'ARG V', { declares: ['V'] }), 'V'), true);
});

test('argEnvEarly: a variable no later line names is to be removed or moved to the end of the stage (below a continued line)', () => {
  const facts: BuildFacts = {
    stages: [
      {
        index: 0,
        instructions: [
          at(1, 'FROM base', { step: 1 }),
          at(2, 'ARG UNUSED=1', { declares: ['UNUSED'] }),
          at(3, 'RUN make', { step: 2 }),
          { ...at(4, 'RUN make install \\\n  && true', { step: 3 }), endLine: 5 },
        ],
      },
    ],
    misses: [
      { stage: 0, index: 2, parts: [{ kind: 'build-arg', subjects: ['UNUSED'] }] },
      { stage: 0, index: 3, parts: [{ kind: 'parent' }, { kind: 'build-arg', subjects: ['UNUSED'] }] },
    ],
    changed: new Map(),
  };
  const [a] = argEnvEarly(facts);
  assert.deepEqual(a, {
    rule: 'arg-env-early',
    lines: [2],
    text: 'ARG UNUSED (line 2) changed and re-ran 2 steps that do not use it (lines 3, 4), and no later instruction names it; remove it, or move it below line 5 (the end of the stage), which keeps those 2 steps cached',
    name: 'UNUSED',
    moveBelow: 5,
    keeps: 2,
  });
  // A step that also missed for another reason would re-run anyway: no advice.
  const mixed = { ...facts, misses: [{ stage: 0, index: 2, parts: [{ kind: 'build-arg' as const, subjects: ['UNUSED'] }, { kind: 'files' as const, subjects: ['a'] }] }] };
  assert.deepEqual(argEnvEarly(mixed), []);
  // A variable from the base image (no declaration in the stage) cannot be moved.
  const inherited = { ...facts, misses: [{ stage: 0, index: 2, parts: [{ kind: 'env' as const, subjects: ['PATH'] }] }] };
  assert.deepEqual(argEnvEarly(inherited), []);
});

test('mergeAdvice: the same item from several runs once, with its latest wording', () => {
  const a = { rule: 'dockerignore' as const, lines: [2], text: 'in each of the last 3 builds', files: ['s'] };
  const b = { ...a, text: 'in each of the last 4 builds' };
  const c = { ...a, files: ['t'] };
  assert.deepEqual(mergeAdvice([[a], [b, c]]), [b, c]);
});
