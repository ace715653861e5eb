import nearley from 'nearley';
import grammar from './generated/dockerfile.js';
import { jsonLexer, lineLexer } from './lexer.js';
import { goQuote } from '../util/index.js';
import type { Range } from '../diag/index.js';
import type { Args, EscapeChar, Flag, JsonArgs, KeyValue, ShellArgs, Word } from './ast.js';
import type { JsonValue, LineSyntax, Tok } from './line-syntax.js';

/**
 * One logical instruction line (continuation lines joined, comment and empty continuation lines
 * dropped) and how its offsets map back to the source text.
 */
export class LogicalLine {
  /** Segment starts: logical offset → source offset; ascending. */
  private readonly logical: number[] = [];
  private readonly source: number[] = [];
  text = '';

  append(piece: string, sourceOffset: number): void {
    this.logical.push(this.text.length);
    this.source.push(sourceOffset);
    this.text += piece;
  }

  /** Drops blanks at both ends (BuildKit TrimSpace's the line before splitting it). */
  trim(): void {
    const lead = this.text.length - this.text.trimStart().length;
    this.text = this.text.slice(lead).trimEnd();
    if (!lead) return;
    for (let i = 0; i < this.logical.length; i++) this.logical[i]! -= lead;
    while (this.logical.length > 1 && this.logical[1]! <= 0) {
      this.logical.shift();
      this.source.shift();
    }
    this.source[0]! -= this.logical[0]!;
    this.logical[0] = 0;
  }

  private segment(offset: number, isEnd: boolean): number {
    let i = this.logical.length - 1;
    // An end offset at a segment boundary belongs to the earlier segment.
    while (i > 0 && (isEnd ? this.logical[i]! >= offset : this.logical[i]! > offset)) i--;
    return i;
  }

  range(start: number, end: number): Range {
    const a = this.segment(start, false);
    const b = this.segment(end, true);
    return { start: this.source[a]! + start - this.logical[a]!, end: this.source[b]! + end - this.logical[b]! };
  }
}

/** An instruction as the line parser builds it; the driver adds lines, range and heredocs. */
export interface InstructionCore {
  readonly keyword: string;
  readonly keywordText: string;
  readonly known: boolean;
  readonly keywordRange: Range;
  readonly flags: readonly Flag[];
  readonly args: Args;
  readonly trigger?: InstructionCore;
  /** Logical offset where this instruction's keyword starts (ONBUILD triggers start mid-line). */
  readonly logicalStart: number;
}

/** A syntax error found while building an instruction, in logical-line offsets. */
export interface LineError {
  readonly code: string;
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

const lineGrammar = nearley.Grammar.fromCompiled(grammar);
const jsonGrammar = nearley.Grammar.fromCompiled({ ...grammar, ParserStart: 'jsonDoc' });

/**
 * A parser per escape character, rewound to its initial column for every line: nearley's
 * save/restore makes the start-symbol prediction a one-time cost instead of a per-line one.
 */
const lineParsers = new Map<EscapeChar, { parser: nearley.Parser; initial: ReturnType<nearley.Parser['save']> }>();

/**
 * Runs the nearley grammar over one logical line, which must be trimmed at both ends and not
 * empty. The grammar is unambiguous: exactly one result.
 */
export function parseLineSyntax(text: string, escape: EscapeChar): LineSyntax {
  let p = lineParsers.get(escape);
  if (!p) {
    const parser = new nearley.Parser(lineGrammar, { lexer: lineLexer(escape) as unknown as nearley.Lexer });
    p = { parser, initial: parser.save() };
    lineParsers.set(escape, p);
  }
  p.parser.restore(p.initial);
  p.parser.feed(text);
  const results = p.parser.results as LineSyntax[];
  if (results.length !== 1) throw new Error(`instruction grammar gave ${results.length} parses for ${JSON.stringify(text)}`);
  return results[0]!;
}

/** The exec form: a JSON array, or undefined when `text` is not JSON at all (shell form then). */
export function parseJsonArray(text: string): JsonValue[] | undefined {
  const jsonParser = (jsonParserMade ??= makeJsonParser());
  jsonParser.parser.restore(jsonParser.initial);
  try {
    jsonParser.parser.feed(text);
  } catch {
    return undefined;
  }
  const results = jsonParser.parser.results as JsonValue[][];
  return results.length ? results[0] : undefined;
}

/** Made on first use, as the line lexers are (lexer.ts). */
let jsonParserMade: { parser: nearley.Parser; initial: ReturnType<nearley.Parser['save']> } | undefined;
const makeJsonParser = () => {
  const parser = new nearley.Parser(jsonGrammar, { lexer: jsonLexer() as unknown as nearley.Lexer });
  return { parser, initial: parser.save() };
};

const trimEnd = (s: string): string => s.replace(/\s+$/u, '');

export function buildInstruction(syntax: LineSyntax, line: LogicalLine, errors: LineError[]): InstructionCore {
  const kw = syntax.keyword;
  const keywordRange = line.range(kw.offset, kw.offset + kw.text.length);
  const flags = syntax.flags.map((t) => buildFlag(t, line));
  const argsStart = syntax.endFlags ?? syntax.flags[syntax.flags.length - 1] ?? kw;
  const emptyAt = argsStart.offset + argsStart.text.length;
  const empty: Range = line.range(emptyAt, emptyAt);
  const keyword = kw.text.toUpperCase();
  const known = syntax.family !== 'kwOther';
  // One object shape for every instruction keeps V8's property access monomorphic.
  const make = (args: Args, trigger?: InstructionCore): InstructionCore => ({
    keyword,
    keywordText: kw.text,
    known,
    keywordRange,
    flags,
    args,
    trigger,
    logicalStart: kw.offset,
  });
  const err = (code: string, message: string, start: number, end: number): void => void errors.push({ code, message, start, end });

  switch (syntax.family) {
    case 'kwJson':
      return make(maybeJson(syntax.rest, line, empty, err));
    case 'kwString':
    case 'kwOther': {
      const text = syntax.rest ? trimEnd(syntax.rest.text) : '';
      const range = syntax.rest ? line.range(syntax.rest.offset, syntax.rest.offset + text.length) : empty;
      return make({ kind: 'text', text, range });
    }
    case 'kwJsonList': {
      const words = syntax.words;
      if (words.length && words[0]!.text.startsWith('[')) {
        const first = words[0]!;
        const last = words[words.length - 1]!;
        const raw = line.text.slice(first.offset, last.offset + last.text.length);
        const json = jsonArgs(raw, first.offset, line, err);
        if (json) return make(json);
      }
      return make(wordArgs(words, line, empty));
    }
    case 'kwSplit':
    case 'kwArg':
      return make(wordArgs(syntax.words, line, empty));
    case 'kwNameVal':
      return make(nameValArgs(keyword, syntax.words, line, empty, err));
    case 'kwHealth': {
      if (!syntax.htype) return make({ kind: 'healthcheck', type: '', typeRange: empty, range: empty });
      const h = syntax.htype;
      const typeRange = line.range(h.offset, h.offset + h.text.length);
      const command = syntax.rest ? maybeJson(syntax.rest, line, empty, err) : undefined;
      const range = command ? { start: typeRange.start, end: command.range.end } : typeRange;
      return make({ kind: 'healthcheck', type: h.text, typeRange, ...(command ? { command } : {}), range });
    }
    case 'kwOnbuild': {
      if (!syntax.trigger) return make({ kind: 'text', text: '', range: empty });
      const trigger = buildInstruction(syntax.trigger, line, errors);
      const start = syntax.trigger.keyword.offset;
      const text = trimEnd(line.text.slice(start));
      return make({ kind: 'text', text, range: line.range(start, start + text.length) }, trigger);
    }
  }
}

/** extractBuilderFlags' reading of a flag word: quotes removed, `\x` → `x`. */
function flagText(raw: string): string {
  let out = '';
  let quote = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote ? c === quote : c === '"' || c === "'") {
      quote = quote ? '' : c;
      continue;
    }
    if (c === '\\') {
      if (i + 1 === raw.length) continue;
      out += raw[++i];
      continue;
    }
    out += c;
  }
  return out;
}

function buildFlag(t: Tok, line: LogicalLine): Flag {
  const text = flagText(t.text);
  const eq = text.indexOf('=');
  return {
    name: eq < 0 ? text.slice(2) : text.slice(2, eq),
    value: eq < 0 ? undefined : text.slice(eq + 1),
    text,
    range: line.range(t.offset, t.offset + t.text.length),
  };
}

type ErrFn = (code: string, message: string, start: number, end: number) => void;

const NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';

/** JSON args if `raw` is a JSON array of strings; undefined to fall back (an error is recorded for non-strings). */
function jsonArgs(raw: string, at: number, line: LogicalLine, err: ErrFn): JsonArgs | undefined {
  const values = parseJsonArray(raw);
  if (!values) return undefined;
  const items: Word[] = [];
  for (const v of values) {
    if (v.kind !== 'string') {
      err('syntax.json-not-strings', NOT_STRING_ARRAY, at, at + raw.length);
      return undefined;
    }
    const quoted = v.token.text.trimStart();
    const s = at + v.token.offset + v.token.text.length - quoted.length;
    items.push({ value: JSON.parse(quoted) as string, range: line.range(s, s + quoted.length) });
  }
  return { kind: 'json', items, range: line.range(at, at + raw.length) };
}

function maybeJson(rest: Tok | undefined, line: LogicalLine, empty: Range, err: ErrFn): JsonArgs | ShellArgs {
  if (!rest) return { kind: 'shell', text: '', range: empty };
  const text = trimEnd(rest.text);
  if (text.startsWith('[')) {
    const json = jsonArgs(text, rest.offset, line, err);
    if (json) return json;
  }
  return { kind: 'shell', text, range: line.range(rest.offset, rest.offset + text.length) };
}

function wordArgs(words: readonly Tok[], line: LogicalLine, empty: Range): Args {
  const ws: Word[] = words.map((t) => ({ value: t.text, range: line.range(t.offset, t.offset + t.text.length) }));
  const range = ws.length ? { start: ws[0]!.range.start, end: ws[ws.length - 1]!.range.end } : empty;
  return { kind: 'words', words: ws, range };
}

/** ENV and LABEL: `k=v …`, or the legacy `k v` (split at the first blank of the raw text). */
function nameValArgs(keyword: string, words: readonly Tok[], line: LogicalLine, empty: Range, err: ErrFn): Args {
  if (!words.length) return { kind: 'keyValue', pairs: [], legacy: false, range: empty };
  const first = words[0]!;
  const last = words[words.length - 1]!;
  const range = line.range(first.offset, last.offset + last.text.length);
  if (!first.text.includes('=')) {
    const raw = line.text.slice(first.offset, last.offset + last.text.length);
    const m = /[\t\v\f\r ]+/.exec(raw);
    if (!m) {
      err('syntax.env-no-value', `${keyword} must have two arguments`, first.offset, last.offset + last.text.length);
      return { kind: 'keyValue', pairs: [], legacy: true, range };
    }
    const keyEnd = first.offset + m.index;
    const valueStart = keyEnd + m[0].length;
    const valueEnd = last.offset + last.text.length;
    const pair: KeyValue = {
      key: raw.slice(0, m.index),
      value: raw.slice(m.index + m[0].length),
      separator: '',
      keyRange: line.range(first.offset, keyEnd),
      valueRange: line.range(valueStart, valueEnd),
      range,
    };
    return { kind: 'keyValue', pairs: [pair], legacy: true, range };
  }
  const pairs: KeyValue[] = [];
  for (const w of words) {
    const eq = w.text.indexOf('=');
    if (eq < 0) {
      err('syntax.env-missing-equals', `Syntax error - can't find = in ${goQuote(w.text)}. Must be of the form: name=value`, w.offset, w.offset + w.text.length);
      continue;
    }
    pairs.push({
      key: w.text.slice(0, eq),
      value: w.text.slice(eq + 1),
      separator: '=',
      keyRange: line.range(w.offset, w.offset + eq),
      valueRange: line.range(w.offset + eq + 1, w.offset + w.text.length),
      range: line.range(w.offset, w.offset + w.text.length),
    });
  }
  return { kind: 'keyValue', pairs, legacy: false, range };
}
