import { error, warning, type Diagnostic, type Range, type SourceFile } from '../diag/index.js';
import type { Comment, Directive, Dockerfile, EscapeChar, Heredoc, Instruction } from './ast.js';
import { buildInstruction, LogicalLine, parseLineSyntax, type InstructionCore, type LineError } from './instruction.js';
import { heredocsFromLine } from './heredoc.js';

/**
 * The line pass BuildKit's parser makes before its per-instruction line parsers, which a
 * context-free grammar cannot express: parser directives at the top, comment lines, joining
 * continuation lines (the escape character can be changed by a directive), and collecting heredoc
 * bodies, which depend on what the instruction line turned out to say. Each logical line goes
 * through the moo lexer and nearley grammar (instruction.ts).
 */

export interface ParseResult {
  readonly ast?: Dockerfile;
  readonly diagnostics: Diagnostic[];
}

const VALID_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);
const FORBIDDEN_TRIGGERS = new Set(['FROM', 'MAINTAINER']);

/** Physical lines split on `\n` only (as BuildKit's scanner), each with its terminator length. */
interface PhysLine {
  readonly start: number;
  /** End of content: trailing CR/LF excluded. */
  readonly end: number;
  /** Start of the next line. */
  readonly next: number;
}

function splitLines(text: string, from: number): PhysLine[] {
  const lines: PhysLine[] = [];
  let start = from;
  while (start < text.length) {
    let nl = text.indexOf('\n', start);
    const next = nl < 0 ? text.length : nl + 1;
    if (nl < 0) nl = text.length;
    let end = nl;
    while (end > start && (text.charCodeAt(end - 1) === 13 || text.charCodeAt(end - 1) === 10)) end--;
    lines.push({ start, end, next });
    start = next;
  }
  return lines;
}

const leadingBlanks = (s: string): number => s.length - s.trimStart().length;

/**
 * Where a line's content ends if it continues on the next line, else -1. BuildKit's rule: the
 * escape character, then only blanks, and not itself escaped (`foo \\` does not continue); a line
 * holding just the escape character continues too.
 */
function continuationCut(line: string, escape: number): number {
  let end = line.length;
  while (end > 0 && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--;
  if (end === 0 || line.charCodeAt(end - 1) !== escape) return -1;
  if (end >= 2 && line.charCodeAt(end - 2) === escape) return -1;
  return end - 1;
}

export function parseDockerfile(file: SourceFile): ParseResult {
  const text = file.text;
  const diagnostics: Diagnostic[] = [];
  const directives: Directive[] = [];
  const comments: Comment[] = [];
  const instructions: Instruction[] = [];
  const seen = new Set<string>();
  let escapeChar: EscapeChar = '\\';
  let escapeCode = escapeChar.charCodeAt(0);
  let directivesDone = false;
  const fail = (code: string, message: string, range: Range, hint?: string): ParseResult => ({
    diagnostics: [...diagnostics, error(code, message, file, range, hint)],
  });

  const lines = splitLines(text, text.charCodeAt(0) === 0xfeff ? 1 : 0);
  let i = 0;
  while (i < lines.length) {
    const pl = lines[i]!;
    const raw = text.slice(pl.start, pl.end);
    const lead = leadingBlanks(raw);
    const t = raw.slice(lead);

    if (!directivesDone) {
      const d = t.startsWith('#') ? DIRECTIVE.exec(t.slice(1).trimStart()) : null;
      const name = d?.[1]?.toLowerCase();
      if (!d || !name || !VALID_DIRECTIVES.has(name)) {
        directivesDone = true;
      } else {
        const nameStart = pl.start + lead + 1 + (t.length - 1 - t.slice(1).trimStart().length);
        const nameRange = { start: nameStart, end: nameStart + d[1]!.length };
        const valueStart = pl.start + raw.lastIndexOf(d[2]!);
        const valueRange = { start: valueStart, end: valueStart + d[2]!.length };
        const range = { start: pl.start + lead, end: pl.end };
        if (seen.has(name)) return fail('syntax.directive-repeated', `only one ${name} parser directive can be used`, range);
        seen.add(name);
        if (name === 'escape') {
          if (d[2] !== '`' && d[2] !== '\\') {
            return fail('syntax.bad-escape', `invalid escape token '${d[2]}' does not match \` or \\`, valueRange, 'use `# escape=\\` or `# escape=`` ');
          }
          escapeChar = d[2];
          escapeCode = escapeChar.charCodeAt(0);
        }
        directives.push({ name, value: d[2]!, nameRange, valueRange, range });
        i++;
        continue;
      }
    }

    if (t.startsWith('#')) {
      comments.push({ text: t.slice(1), range: { start: pl.start + lead, end: pl.end } });
      i++;
      continue;
    }
    if (t === '') {
      i++;
      continue;
    }

    // An instruction: join its continuation lines into one logical line.
    const startLine = i + 1;
    const line = new LogicalLine();
    let cut = continuationCut(t, escapeCode);
    line.append(cut < 0 ? t : t.slice(0, cut), pl.start + lead);
    let last = pl;
    i++;
    while (cut >= 0 && i < lines.length) {
      const cl = lines[i]!;
      const craw = text.slice(cl.start, cl.end);
      const ct = craw.trimStart();
      i++;
      if (ct.startsWith('#')) {
        comments.push({ text: ct.slice(1), range: { start: cl.end - ct.length, end: cl.end } });
        continue;
      }
      if (ct === '') {
        // BuildKit skips it too, with this warning.
        diagnostics.push(
          warning('syntax.empty-continuation', 'empty continuation line', file, { start: cl.start, end: cl.end }, 'empty continuation lines will become errors in a future release; remove it or end the instruction'),
        );
        continue;
      }
      last = cl;
      cut = continuationCut(craw, escapeCode);
      line.append(cut < 0 ? craw : craw.slice(0, cut), cl.start);
    }

    line.trim();
    if (line.text === '') continue; // only continuation characters: nothing to parse

    const errors: LineError[] = [];
    const core = buildInstruction(parseLineSyntax(line.text, escapeChar), line, errors);
    if (errors.length) {
      const e = errors[0]!;
      return fail(e.code, e.message, line.range(e.start, e.end));
    }

    // Heredoc bodies follow the instruction line, one after another, each up to its delimiter.
    const heredocs: Heredoc[] = [];
    const target = core.keyword === 'ONBUILD' && core.trigger ? core.trigger : core;
    if (HEREDOC_KEYWORDS.has(target.keyword) && target.args.kind !== 'json' && line.text.includes('<<')) {
      const openers = heredocsFromLine(line.text);
      if ('error' in openers) return fail('syntax.heredoc-delimiter', openers.error, line.range(openers.start, openers.end));
      for (const o of openers) {
        const bodyStart = i < lines.length ? lines[i]!.start : text.length;
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const hl = lines[i]!;
          i++;
          let candidate = text.slice(hl.start, hl.end);
          if (o.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === o.name) {
            terminated = true;
            last = hl;
            break;
          }
          content += text.slice(hl.start, hl.next);
          last = hl;
        }
        const opener = line.range(o.start, o.end);
        if (!terminated) {
          return fail('syntax.unterminated-heredoc', `unterminated heredoc ${o.name}`, opener, `end the heredoc with a line containing only ${o.name}`);
        }
        heredocs.push({
          name: o.name,
          content,
          expand: o.expand,
          chomp: o.chomp,
          fileDescriptor: o.fileDescriptor,
          range: opener,
          bodyRange: { start: bodyStart, end: last.end },
        });
      }
    }

    const range: Range = { start: core.keywordRange.start, end: last.end };
    const endLine = i; // lines consumed so far; the last one is the instruction's last line
    const inst = finish(core, file, range, startLine, endLine, heredocs);
    const trig = inst.trigger;
    if (trig) {
      if (trig.keyword === 'ONBUILD') {
        diagnostics.push(error('syntax.onbuild-chain', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', file, trig.keywordRange));
      } else if (FORBIDDEN_TRIGGERS.has(trig.keyword)) {
        diagnostics.push(error('syntax.onbuild-trigger', `${trig.keyword} isn't allowed as an ONBUILD trigger`, file, trig.keywordRange));
      }
    }
    instructions.push(inst);
  }

  if (instructions.length === 0) {
    const end = text.length;
    return fail('syntax.no-instructions', 'file with no instructions', { start: end, end }, 'a Dockerfile needs at least a FROM instruction');
  }
  return {
    ast: { file, directives, instructions, comments, escapeChar, range: { start: 0, end: text.length } },
    diagnostics,
  };
}

function finish(core: InstructionCore, file: SourceFile, range: Range, startLine: number, endLine: number, heredocs: Heredoc[]): Instruction {
  const trigger = core.trigger
    ? finish(core.trigger, file, { start: core.trigger.keywordRange.start, end: range.end }, startLine, endLine, heredocs)
    : undefined;
  return {
    keyword: core.keyword,
    keywordText: core.keywordText,
    known: core.known,
    keywordRange: core.keywordRange,
    flags: core.flags,
    args: core.args,
    heredocs,
    trigger,
    startLine,
    endLine,
    range,
    original: file.text.slice(range.start, range.end),
  };
}
