/**
 * AST instruction → typed instruction: argument counts, flags and their values checked, nothing
 * expanded yet (expansion needs the ARG/ENV scope; see scope.ts).
 */
import { error, type Diagnostic, type SourceFile } from '../diag/index.js';
import { ok } from '../util/index.js';
import { chompHeredocContent, unknownInstructionDiagnostic, type Args, type Instruction as AstInstruction, type Heredoc } from '../syntax/index.js';
import { parseFlags, single, type ParsedFlags } from './flags.js';
import { parseMount } from './mount.js';
import { CHMOD_HINT, parseChmod } from './chmod.js';
import type { Command, HealthcheckOptions, InlineFile, Mount, NetworkMode, SecurityMode, TypedInstruction, Word } from './types.js';

const EXACTLY_ONE = new Set(['MAINTAINER', 'WORKDIR', 'USER', 'STOPSIGNAL']);
const FORBIDDEN_TRIGGERS = new Set(['FROM', 'MAINTAINER']);

export function parseInstruction(node: AstInstruction, file: SourceFile, diags: Diagnostic[]): TypedInstruction | undefined {
  const fail = (message: string, hint?: string, range = node.range, code = 'instructions.invalid'): undefined => {
    diags.push(error(code, message, file, range, hint));
    return undefined;
  };
  if (!node.known) {
    diags.push(unknownInstructionDiagnostic(file, node));
    return undefined;
  }
  const kw = node.keyword;
  const flags = parseFlags(node, file, diags);
  const args = node.args;
  const words = argWords(args);
  if (EXACTLY_ONE.has(kw) && (args.kind !== 'text' || args.text.trim() === '')) return fail(`${kw} requires exactly one argument`);

  switch (kw) {
    case 'FROM': {
      if (words.length !== 1 && words.length !== 3) return fail('FROM requires either one or three arguments', 'write FROM <image> [AS <name>]');
      if (words.length === 3 && words[1]!.value.toLowerCase() !== 'as')
        return fail(`expected "AS" as the second argument of FROM, got "${words[1]!.value}"`, 'write FROM <image> AS <name>', words[1]!.range);
      const stageName = words[2];
      if (stageName && !/^[a-z][a-z0-9-_.]*$/i.test(stageName.value))
        return fail(`invalid name for build stage: "${stageName.value}", name can't start with a number or contain symbols`, undefined, stageName.range);
      return { kind: 'FROM', node, image: words[0]!, stageName, platform: single(flags, 'platform') };
    }
    case 'RUN': {
      const command = toCommand(args);
      if (!command || (command.form === 'shell' && command.text.value.trim() === '' && node.heredocs.length === 0))
        return fail('RUN requires at least one argument');
      const mountSpecs = flags.values.get('mount') ?? [];
      const mounts: Mount[] = [];
      let sshIndex = 0;
      for (const spec of mountSpecs) {
        const m = parseMount(spec.value, spec.range, (s) => ok(s), sshIndex);
        if (!m.ok) diags.push(error('instructions.bad-mount', m.error.message, file, spec.range, m.error.hint));
        else {
          if (m.value.type === 'ssh') sshIndex++;
          mounts.push(m.value);
        }
      }
      const network = enumFlag(flags, 'network', ['default', 'none', 'host'], 'default', file, diags) as NetworkMode;
      const security = enumFlag(flags, 'security', ['sandbox', 'insecure'], 'sandbox', file, diags) as SecurityMode;
      const files = command.form === 'shell' ? node.heredocs.map(runFile) : [];
      return { kind: 'RUN', node, command, files, mounts, mountSpecs, network, security };
    }
    case 'COPY':
    case 'ADD': {
      const items = args.kind === 'json' ? args.items : words;
      if (items.length < 2) {
        return fail(
          items.length === 0 ? `${kw} requires at least two arguments` : `${kw} requires at least two arguments, but only one was provided. Destination could not be determined`,
          `write ${kw} <src>... <dest>`,
        );
      }
      const dest = items[items.length - 1]!;
      const heredocFor = (w: Word): Heredoc | undefined =>
        args.kind === 'json' ? undefined : node.heredocs.find((h) => h.range.start === w.range.start || (w.range.start <= h.range.start && h.range.end <= w.range.end));
      if (heredocFor(dest)) return fail(`${kw} cannot accept a heredoc as a destination`, undefined, dest.range);
      const sources: Word[] = [];
      const contents: InlineFile[] = [];
      for (const w of items.slice(0, -1)) {
        const h = heredocFor(w);
        if (h) contents.push({ name: h.name, data: h.chomp ? chompHeredocContent(h.content) : h.content, expand: h.expand, chomp: h.chomp, fileDescriptor: h.fileDescriptor });
        else sources.push(w);
      }
      const chmod = single(flags, 'chmod');
      if (chmod && !chmod.value.includes('$') && !parseChmod(chmod.value))
        diags.push(error('instructions.bad-flag-value', `invalid chmod value: ${chmod.value}`, file, chmod.range, CHMOD_HINT));
      const checksum = single(flags, 'checksum');
      if (checksum && !/^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128}|[0-9a-f]{7,64})$/.test(checksum.value) && !checksum.value.includes('$'))
        diags.push(error('instructions.bad-flag-value', `invalid checksum: ${checksum.value}`, file, checksum.range, 'give sha256:<64 hex digits> (or a git commit for git sources)'));
      const from = single(flags, 'from');
      if (from?.value.includes('$'))
        diags.push(
          error('instructions.from-not-expanded', `variable expansion is not supported for --from: "${from.value}"`, file, from.range, 'to choose the source by ARG, add a stage `FROM ${ARG} AS src` and use COPY --from=src'),
        );
      return {
        kind: kw,
        node,
        sources,
        contents,
        dest,
        from,
        chown: single(flags, 'chown'),
        chmod,
        link: flags.bools.get('link') ?? false,
        parents: flags.bools.get('parents') ?? false,
        exclude: flags.values.get('exclude') ?? [],
        ...(kw === 'ADD' ? { checksum, keepGitDir: flags.bools.get('keep-git-dir') ?? false, unpack: flags.bools.get('unpack') } : {}),
      };
    }
    case 'ENV':
    case 'LABEL': {
      if (args.kind !== 'keyValue' || args.pairs.length === 0) return fail(`${kw} requires at least one argument`);
      return { kind: kw, node, pairs: args.pairs.map((p) => ({ key: p.key, value: p.value, range: p.range })) };
    }
    case 'ARG': {
      if (words.length === 0) return fail('ARG requires at least one argument', 'write ARG <name>[=<default>]');
      return {
        kind: 'ARG',
        node,
        args: words.map((w) => {
          const eq = w.value.indexOf('=');
          return eq < 0 ? { key: w.value, range: w.range } : { key: w.value.slice(0, eq), value: w.value.slice(eq + 1), range: w.range };
        }),
      };
    }
    case 'CMD':
    case 'ENTRYPOINT': {
      const command = toCommand(args);
      if (!command) return fail(`${kw} requires at least one argument`);
      return { kind: kw, node, command };
    }
    case 'SHELL': {
      if (args.kind !== 'json') return fail('SHELL requires the arguments to be in JSON form', 'write SHELL ["/bin/sh", "-c"]', args.range);
      if (args.items.length === 0) return fail('SHELL requires at least one argument');
      return { kind: 'SHELL', node, shell: args.items.map((i) => i.value) };
    }
    case 'EXPOSE':
    case 'VOLUME': {
      const items = args.kind === 'json' ? args.items : words;
      if (items.length === 0 || items.every((i) => i.value.trim() === '')) return fail(`${kw} requires at least one argument`);
      return { kind: kw, node, items };
    }
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER': {
      const text = args.kind === 'text' ? args.text.trim() : '';
      return { kind: kw, node, value: { value: text, range: args.range } };
    }
    case 'HEALTHCHECK':
      return parseHealthcheck(node, args, flags, file, diags, fail);
    case 'ONBUILD': {
      const trigger = node.trigger;
      if (!trigger) return fail('ONBUILD requires at least one argument');
      if (trigger.keyword === 'ONBUILD') return fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', undefined, trigger.keywordRange);
      if (FORBIDDEN_TRIGGERS.has(trigger.keyword)) return fail(`${trigger.keyword} isn't allowed as an ONBUILD trigger`, undefined, trigger.keywordRange);
      const typed = parseInstruction(trigger, file, diags);
      if (!typed) return undefined;
      return { kind: 'ONBUILD', node, trigger: trigger.original, triggerInstruction: typed };
    }
    default:
      return fail(`unknown instruction: ${node.keywordText}`, undefined, node.keywordRange, 'instructions.unknown-instruction');
  }
}

const NO_WORDS: readonly Word[] = [];

function argWords(args: Args): readonly Word[] {
  return args.kind === 'words' ? args.words : args.kind === 'json' ? args.items : NO_WORDS;
}

function toCommand(args: Args): Command | undefined {
  if (args.kind === 'json') return { form: 'exec', args: args.items };
  if (args.kind === 'shell') return { form: 'shell', text: { value: args.text, range: args.range } };
  if (args.kind === 'text') return { form: 'shell', text: { value: args.text, range: args.range } };
  if (args.kind === 'words') return { form: 'shell', text: { value: args.words.map((w) => w.value).join(' '), range: args.range } };
  return undefined;
}

const runFile = (h: Heredoc): InlineFile => ({ name: h.name, data: h.content, expand: h.expand, chomp: h.chomp, fileDescriptor: h.fileDescriptor });

function enumFlag(flags: ParsedFlags, name: string, allowed: string[], dflt: string, file: SourceFile, diags: Diagnostic[]): string {
  const w = single(flags, name);
  if (!w) return dflt;
  if (allowed.includes(w.value)) return w.value;
  diags.push(error('instructions.bad-flag-value', `unsupported ${name} mode: ${w.value}`, file, w.range, `use one of ${allowed.join(', ')}`));
  return dflt;
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, to nanoseconds. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const m = /^([-+]?)((?:\d*\.?\d+(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const part of m[2]!.matchAll(/(\d*\.?\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * UNIT_NS[part[2]!]!;
  return Math.round(m[1] === '-' ? -total : total);
}

function parseHealthcheck(
  node: AstInstruction,
  args: Args,
  flags: ParsedFlags,
  file: SourceFile,
  diags: Diagnostic[],
  fail: (message: string, hint?: string, range?: AstInstruction['range']) => undefined,
): TypedInstruction | undefined {
  if (args.kind !== 'healthcheck') {
    if (args.kind === 'text' && args.text.trim() !== '')
      return fail(`Unknown type "${args.text.trim().split(/\s+/)[0]!.toUpperCase()}" in HEALTHCHECK (try CMD)`, 'write HEALTHCHECK CMD <command> or HEALTHCHECK NONE', args.range);
    return fail('HEALTHCHECK requires at least one argument');
  }
  const type = String(args.type);
  if (type === '') return fail('HEALTHCHECK requires at least one argument');
  if (type !== 'CMD' && type !== 'NONE') return fail(`Unknown type "${type.toUpperCase()}" in HEALTHCHECK (try CMD)`, 'write HEALTHCHECK CMD <command> or HEALTHCHECK NONE', args.typeRange);
  const duration = (name: string): number => {
    const w = single(flags, name);
    if (!w) return 0;
    const d = parseGoDuration(w.value);
    if (d === undefined) diags.push(error('instructions.bad-flag-value', `invalid duration for --${name}: ${w.value}`, file, w.range, 'use a duration such as 30s or 1m30s'));
    else if (d < 0) diags.push(error('instructions.bad-flag-value', `--${name} cannot be negative`, file, w.range));
    else if (d !== 0 && d < 1e6) diags.push(error('instructions.bad-flag-value', `--${name} cannot be less than 1ms`, file, w.range));
    else return d;
    return 0;
  };
  const retriesWord = single(flags, 'retries');
  let retries = 0;
  if (retriesWord) {
    if (!/^[-+]?\d+$/.test(retriesWord.value)) diags.push(error('instructions.bad-flag-value', `invalid --retries value: ${retriesWord.value}`, file, retriesWord.range, 'give a whole number'));
    else if (Number(retriesWord.value) < 0) diags.push(error('instructions.bad-flag-value', '--retries cannot be negative', file, retriesWord.range));
    else retries = Number(retriesWord.value);
  }
  const options: HealthcheckOptions = {
    interval: duration('interval'),
    timeout: duration('timeout'),
    startPeriod: duration('start-period'),
    startInterval: duration('start-interval'),
    retries,
  };
  if (args.type === 'NONE') {
    if (args.command && (args.command.kind === 'json' ? args.command.items.length > 0 : args.command.text.trim() !== ''))
      return fail('HEALTHCHECK NONE takes no arguments', undefined, args.command.range);
    return { kind: 'HEALTHCHECK', node, options };
  }
  const command = args.command ? toCommand(args.command) : undefined;
  if (!command || (command.form === 'shell' && command.text.value.trim() === '') || (command.form === 'exec' && command.args.length === 0))
    return fail('Missing command after HEALTHCHECK CMD', 'write HEALTHCHECK CMD <command>');
  return { kind: 'HEALTHCHECK', node, command, options };
}
