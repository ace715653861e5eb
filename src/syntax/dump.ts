import type { Args, Dockerfile, Instruction } from './ast.js';
import { goQuote, goQuoteList } from '../util/index.js';

/**
 * BuildKit's AST dump (parser.Node.Dump), byte for byte: one `(keyword ["flags"] "arg" …)` line
 * per instruction, ONBUILD nesting its trigger, and a final newline as in BuildKit's golden
 * `result` files.
 */
export function dumpBuildkit(ast: Dockerfile): string {
  return ast.instructions.map((i) => `(${dumpInstruction(i)})`).join('\n') + '\n';
}

function dumpInstruction(inst: Instruction): string {
  let s = inst.keywordText.toLowerCase();
  const flags = inst.flags.map((f) => f.text);
  if (flags.length) s += ' ' + goQuoteList(flags);
  if (inst.trigger) return `${s} (${dumpInstruction(inst.trigger)})`;
  // BuildKit keeps no arguments for instructions it does not know, but still prints one empty node.
  if (!inst.known) return `${s} ""`;
  for (const a of argStrings(inst.args)) s += ' ' + goQuote(a);
  return s;
}

/** The argument nodes BuildKit's line parsers produce, as strings. */
export function argStrings(args: Args): string[] {
  switch (args.kind) {
    case 'json':
      return args.items.map((w) => w.value);
    case 'shell':
    case 'text':
      return args.text === '' ? [] : [args.text];
    case 'words':
      return args.words.map((w) => w.value);
    case 'keyValue':
      return args.pairs.flatMap((p) => [p.key, p.value, p.separator]);
    case 'healthcheck': {
      if (args.type === '') return [];
      return [args.type, ...(args.command ? argStrings(args.command) : [])];
    }
  }
}
