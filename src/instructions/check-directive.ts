/**
 * `# check=skip=<rules>|all;error=true` — BuildKit's parser directive that silences lint rules or
 * makes their warnings fail the build. Rules are named as BuildKit names them.
 */
import { error, warning, type Diagnostic, type SourceFile } from '../diag/index.js';
import type { Directive } from '../syntax/index.js';

/** Our lint codes by BuildKit rule name. */
export const LINT_RULES: Readonly<Record<string, string>> = {
  MaintainerDeprecated: 'lint.maintainer-deprecated',
  LegacyKeyValueFormat: 'lint.legacy-key-value-format',
  JSONArgsRecommended: 'lint.json-args-recommended',
  StageNameCasing: 'lint.stage-name-casing',
  FromAsCasing: 'lint.from-as-casing',
  MultipleInstructionsDisallowed: 'lint.multiple-instructions',
  ReservedStageName: 'lint.reserved-stage-name',
  SecretsUsedInArgOrEnv: 'lint.secrets-in-arg-or-env',
  UndefinedArgInFrom: 'lint.undefined-arg-in-from',
  WorkdirRelativePath: 'lint.workdir-relative-path',
  ConsistentInstructionCasing: 'lint.consistent-instruction-casing',
  RedundantTargetPlatform: 'lint.redundant-target-platform',
  FromPlatformFlagConstDisallowed: 'lint.from-platform-flag-const-disallowed',
  ExposeProtoCasing: 'lint.expose-proto-casing',
  ExposeInvalidFormat: 'lint.expose-invalid-format',
  UndefinedVar: 'lint.undefined-var',
};

const RULE_BY_LOWER_NAME = new Map(Object.entries(LINT_RULES).map(([name, code]) => [name.toLowerCase(), code]));

export function applyCheckDirective(diags: readonly Diagnostic[], directives: readonly Directive[], file?: SourceFile): Diagnostic[] {
  const check = directives.find((d) => d.name === 'check');
  if (!check) return [...diags];
  const out: Diagnostic[] = [];
  const skipped = new Set<string>();
  let skipAll = false;
  let asErrors = false;
  for (const part of check.value.split(';')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq < 0 ? part.length : eq).trim().toLowerCase();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (key === 'skip') {
      for (const name of value.split(',').map((n) => n.trim()).filter(Boolean)) {
        if (name.toLowerCase() === 'all') skipAll = true;
        else {
          const code = RULE_BY_LOWER_NAME.get(name.toLowerCase());
          if (code) skipped.add(code);
          else out.push(warning('lint.unknown-rule', `unknown lint rule "${name}" in check directive`, file, check.valueRange, `known rules: ${Object.keys(LINT_RULES).join(', ')}`));
        }
      }
    } else if (key === 'error') asErrors = value.toLowerCase() === 'true';
    else if (key !== 'experimental')
      out.push(warning('lint.bad-check-directive', `unknown option "${key}" in check directive`, file, check.valueRange, 'use skip=<rules>|all and error=true|false'));
  }
  for (const d of diags) {
    const isLint = d.code.startsWith('lint.') && d.severity === 'warning';
    if (isLint && (skipAll || skipped.has(d.code))) continue;
    out.push(isLint && asErrors ? error(d.code, `lint violation: ${d.message}`, d.file, d.range, d.hint) : d);
  }
  return out;
}
