/** The cheap checks BuildKit's linter gives without knowing the base images. */
import { warning, type Diagnostic, type SourceFile } from '../diag/index.js';
import type { Dockerfile, Instruction } from '../syntax/index.js';

const isUpper = (s: string): boolean => s === s.toUpperCase();
const isLower = (s: string): boolean => s === s.toLowerCase();

export function lintDockerfile(ast: Dockerfile): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const node of ast.instructions) lintInstruction(node, ast.file, out);
  return out;
}

function lintInstruction(node: Instruction, file: SourceFile, out: Diagnostic[]): void {
  const args = node.args;
  switch (node.keyword) {
    case 'MAINTAINER':
      out.push(
        warning('lint.maintainer-deprecated', 'MAINTAINER instruction is deprecated in favor of using label', file, node.keywordRange, 'use LABEL org.opencontainers.image.authors="<name>"'),
      );
      break;
    case 'ENV':
    case 'LABEL':
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
      if (args.kind !== 'words' || args.words.length !== 3) break;
      const [, as, name] = args.words as [unknown, { value: string; range: { start: number; end: number } }, { value: string; range: { start: number; end: number } }];
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
