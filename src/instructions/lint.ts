/** The cheap checks BuildKit's linter gives without knowing the base images. */
import { warning, type Diagnostic, type SourceFile } from '../diag/index.js';
import type { Dockerfile, Instruction } from '../syntax/index.js';

const isUpper = (s: string): boolean => s === s.toUpperCase();
const isLower = (s: string): boolean => s === s.toLowerCase();

const SINGLE_USE = new Set(['CMD', 'ENTRYPOINT', 'HEALTHCHECK']);
const RESERVED_STAGE_NAMES = new Set(['scratch', 'context']);
// BuildKit's SecretsUsedInArgOrEnv: a name with one of these words (split on non-letters).
const SECRET_WORDS = /(?:^|[^a-z])(apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:[^a-z]|$)/i;
const NOT_SECRET = /public/i;

export function lintDockerfile(ast: Dockerfile): Diagnostic[] {
  const out: Diagnostic[] = [];
  let seen = new Map<string, Instruction[]>();
  const flushStage = (): void => {
    for (const [kw, nodes] of seen)
      for (const n of nodes.slice(0, -1))
        out.push(
          warning('lint.multiple-instructions', `Multiple ${kw} instructions should not be used in the same stage because only the last one will be used`, ast.file, n.keywordRange, 'remove all but the last one'),
        );
    seen = new Map();
  };
  // ConsistentInstructionCasing: compare each keyword with the file's majority casing.
  const upper = ast.instructions.filter((n) => isUpper(n.keywordText)).length;
  const lower = ast.instructions.filter((n) => isLower(n.keywordText)).length;
  const majority = upper >= lower ? 'uppercase' : 'lowercase';
  for (const node of ast.instructions) {
    if (majority === 'uppercase' ? !isUpper(node.keywordText) : !isLower(node.keywordText))
      out.push(
        warning(
          'lint.consistent-instruction-casing',
          `Command '${node.keywordText}' should match the case of the command majority (${majority})`,
          ast.file,
          node.keywordRange,
          `write ${majority === 'uppercase' ? node.keywordText.toUpperCase() : node.keywordText.toLowerCase()}`,
        ),
      );
    if (node.keyword === 'FROM') flushStage();
    if (SINGLE_USE.has(node.keyword)) seen.set(node.keyword, [...(seen.get(node.keyword) ?? []), node]);
    lintInstruction(node, ast.file, out);
  }
  flushStage();
  return out;
}

function secretNames(node: Instruction): { name: string; range: Instruction['range'] }[] {
  const args = node.args;
  const names =
    args.kind === 'keyValue'
      ? args.pairs.map((p) => ({ name: p.key, range: p.keyRange }))
      : args.kind === 'words'
        ? args.words.map((w) => ({ name: w.value.split('=')[0]!, range: w.range }))
        : [];
  return names.filter((n) => SECRET_WORDS.test(n.name) && !NOT_SECRET.test(n.name));
}

function lintInstruction(node: Instruction, file: SourceFile, out: Diagnostic[]): void {
  const args = node.args;
  switch (node.keyword) {
    case 'MAINTAINER':
      out.push(
        warning('lint.maintainer-deprecated', 'MAINTAINER instruction is deprecated in favor of using label', file, node.keywordRange, 'use LABEL org.opencontainers.image.authors="<name>"'),
      );
      break;
    case 'ARG':
      for (const n of secretNames(node))
        out.push(warning('lint.secrets-in-arg-or-env', `Do not use ARG or ENV instructions for sensitive data (ARG "${n.name}")`, file, n.range, 'use RUN --mount=type=secret instead'));
      break;
    case 'ENV':
    case 'LABEL':
      if (node.keyword === 'ENV')
        for (const n of secretNames(node))
          out.push(warning('lint.secrets-in-arg-or-env', `Do not use ARG or ENV instructions for sensitive data (ENV "${n.name}")`, file, n.range, 'use RUN --mount=type=secret instead'));
      if (args.kind === 'keyValue' && args.legacy)
        out.push(
          warning(
            'lint.legacy-key-value-format',
            `"${node.keyword} key=value" should be used instead of legacy "${node.keyword} key value" format`,
            file,
            args.range,
            `write ${node.keyword} ${args.pairs[0]?.key ?? 'key'}=<value>`,
          ),
        );
      break;
    case 'CMD':
    case 'ENTRYPOINT':
      if (args.kind === 'shell' || args.kind === 'text')
        out.push(
          warning(
            'lint.json-args-recommended',
            `JSON arguments recommended for ${node.keyword} to prevent unintended behavior related to OS signals`,
            file,
            args.range,
            `write ${node.keyword} ["executable", "arg"]`,
          ),
        );
      break;
    case 'FROM': {
      const platform = node.flags.find((f) => f.name === 'platform');
      const stage = args.kind === 'words' ? args.words[2]?.value.toLowerCase() : undefined;
      if (platform?.value && /^\$(\{TARGETPLATFORM\}|TARGETPLATFORM)$/.test(platform.value))
        out.push(
          warning('lint.redundant-target-platform', 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior', file, platform.range, 'drop --platform'),
        );
      else if (platform?.value && !platform.value.includes('$') && !(stage && platform.value.split('/').slice(1).some((part) => stage.includes(part.toLowerCase()))))
        // A stage named for its platform (`AS build-arm64`) is the one place a constant makes sense.
        out.push(
          warning('lint.from-platform-flag-const-disallowed', `FROM --platform flag should not use constant value "${platform.value}"`, file, platform.range, 'use $BUILDPLATFORM or $TARGETPLATFORM'),
        );
      if (args.kind !== 'words' || args.words.length !== 3) break;
      const [, as, name] = args.words as [unknown, { value: string; range: { start: number; end: number } }, { value: string; range: { start: number; end: number } }];
      if (RESERVED_STAGE_NAMES.has(name.value.toLowerCase()))
        out.push(warning('lint.reserved-stage-name', `Stage name should not use the same name as reserved stage "${name.value.toLowerCase()}"`, file, name.range, 'pick another name'));
      if (!isLower(name.value))
        out.push(warning('lint.stage-name-casing', `Stage name '${name.value}' should be lowercase`, file, name.range, `write ${name.value.toLowerCase()}`));
      const kw = node.keywordText;
      if ((isUpper(kw) && isLower(as.value)) || (isLower(kw) && isUpper(as.value)))
        out.push(warning('lint.from-as-casing', `'${as.value}' and '${kw}' keywords' casing do not match`, file, as.range, `write ${isUpper(kw) ? 'AS' : 'as'}`));
      break;
    }
    case 'ONBUILD':
      if (node.trigger) lintInstruction(node.trigger, file, out);
      break;
  }
}
