import { editDistance, error, type Diagnostic, type SourceFile } from '../diag/index.js';
import type { Flag, Instruction as AstInstruction } from '../syntax/index.js';
import type { Word } from './types.js';

/** string: `--x=v` once; bool: `--x` or `--x=true|false` once; list: `--x=v` any number of times. */
export type FlagKind = 'string' | 'bool' | 'list';

/** The flags each instruction accepts, as BuildKit's instruction parser defines them. */
export const FLAG_SPECS: Readonly<Record<string, Readonly<Record<string, FlagKind>>>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'list', network: 'string', security: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'list' },
  ADD: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    'keep-git-dir': 'bool',
    checksum: 'string',
    exclude: 'list',
    unpack: 'bool',
  },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

export interface ParsedFlags {
  /** String and list flag values (a list flag may have several). */
  readonly values: ReadonlyMap<string, readonly Word[]>;
  readonly bools: ReadonlyMap<string, boolean>;
  /** The flag node by name, for pointing at it in later diagnostics. */
  readonly nodes: ReadonlyMap<string, Flag>;
}

const NO_FLAGS: ParsedFlags = { values: new Map(), bools: new Map(), nodes: new Map() };

export function parseFlags(node: AstInstruction, file: SourceFile, diags: Diagnostic[], keyword = node.keyword): ParsedFlags {
  if (node.flags.length === 0) return NO_FLAGS;
  const specs = FLAG_SPECS[keyword] ?? {};
  const values = new Map<string, Word[]>();
  const bools = new Map<string, boolean>();
  const nodes = new Map<string, Flag>();
  for (const flag of node.flags) {
    const kind = specs[flag.name];
    if (!kind) {
      const allowed = Object.keys(specs).map((n) => `--${n}`);
      const near = allowed.find((a) => editDistance(a, `--${flag.name}`) <= 2);
      const hint = near
        ? `did you mean ${near}?`
        : allowed.length
          ? `${keyword} accepts ${allowed.join(', ')}`
          : `${keyword} takes no flags`;
      diags.push(error('instructions.unknown-flag', `unknown flag: --${flag.name}`, file, flag.range, hint));
      continue;
    }
    if (kind !== 'list' && nodes.has(flag.name)) {
      diags.push(error('instructions.duplicate-flag', `duplicate flag specified: --${flag.name}`, file, flag.range, 'give this flag once'));
      continue;
    }
    nodes.set(flag.name, flag);
    if (kind === 'bool') {
      const v = flag.value?.toLowerCase();
      if (v === undefined || v === '' || v === 'true') bools.set(flag.name, true);
      else if (v === 'false') bools.set(flag.name, false);
      else
        diags.push(
          error('instructions.bad-flag-value', `expecting boolean value for flag --${flag.name}, not: ${flag.value}`, file, flag.range, `use --${flag.name} or --${flag.name}=false`),
        );
      continue;
    }
    if (flag.value === undefined) {
      diags.push(error('instructions.missing-flag-value', `missing a value on flag: --${flag.name}`, file, flag.range, `write --${flag.name}=<value>`));
      continue;
    }
    const valueStart = flag.range.end - flag.value.length;
    const word: Word = { value: flag.value, range: { start: valueStart, end: flag.range.end } };
    const list = values.get(flag.name) ?? [];
    list.push(word);
    values.set(flag.name, list);
  }
  return { values, bools, nodes };
}

export function single(flags: ParsedFlags, name: string): Word | undefined {
  return flags.values.get(name)?.[0];
}
