/**
 * Builds syntax ASTs for one-instruction-per-line Dockerfiles (no continuations, heredocs or
 * comments), so instruction and plan tests do not depend on the real parser's progress. Ranges
 * are true offsets into the text.
 */
import { SourceFile } from '../../src/diag/index.js';
import { KNOWN_INSTRUCTIONS, type Args, type Dockerfile, type Flag, type Instruction, type Word } from '../../src/syntax/index.js';

const JSON_KW = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'COPY', 'ADD', 'VOLUME']);
const SHELL_KW = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL']);
const TEXT_KW = new Set(['USER', 'WORKDIR', 'MAINTAINER', 'STOPSIGNAL']);

function words(text: string, base: number): Word[] {
  const out: Word[] = [];
  for (const m of text.matchAll(/\S+/g)) out.push({ value: m[0], range: { start: base + m.index, end: base + m.index + m[0].length } });
  return out;
}

function parseLine(text: string, start: number): Instruction {
  const kwMatch = /^\S+/.exec(text)!;
  const keywordText = kwMatch[0];
  const keyword = keywordText.toUpperCase();
  let pos = keywordText.length;
  const flags: Flag[] = [];
  for (;;) {
    const m = /^\s+(--(\S*))/.exec(text.slice(pos));
    if (!m || keyword === 'ONBUILD') break;
    const fstart = start + pos + m[0].length - m[1]!.length;
    pos += m[0].length;
    if (m[2] === '') break;
    const eq = m[2]!.indexOf('=');
    flags.push({
      name: eq < 0 ? m[2]! : m[2]!.slice(0, eq),
      value: eq < 0 ? undefined : m[2]!.slice(eq + 1),
      text: m[1]!,
      range: { start: fstart, end: fstart + m[1]!.length },
    });
  }
  const lead = /^\s*/.exec(text.slice(pos))![0].length;
  const restStart = start + pos + lead;
  const rest = text.slice(pos + lead);
  const range = { start: restStart, end: restStart + rest.length };
  let args: Args;
  let trigger: Instruction | undefined;
  if (JSON_KW.has(keyword) && rest.startsWith('[')) {
    const items = (JSON.parse(rest) as string[]).map((v) => ({ value: v, range }));
    args = { kind: 'json', items, range };
  } else if (SHELL_KW.has(keyword)) args = { kind: 'shell', text: rest, range };
  else if (TEXT_KW.has(keyword)) args = { kind: 'text', text: rest, range };
  else if (keyword === 'ONBUILD') {
    args = { kind: 'text', text: rest, range };
    if (rest) trigger = parseLine(rest, restStart);
  } else if (keyword === 'ENV' || keyword === 'LABEL') {
    const ws = words(rest, restStart);
    const legacy = ws.length > 0 && !ws[0]!.value.includes('=');
    const pairs = legacy
      ? [{ key: ws[0]!.value, value: rest.slice(ws[0]!.value.length).trim(), separator: '' as const, keyRange: ws[0]!.range, valueRange: range, range }]
      : ws.map((w) => {
          const eq = w.value.indexOf('=');
          return { key: w.value.slice(0, eq), value: w.value.slice(eq + 1), separator: '=' as const, keyRange: w.range, valueRange: w.range, range: w.range };
        });
    args = { kind: 'keyValue', pairs, legacy, range };
  } else if (keyword === 'HEALTHCHECK') {
    const t = /^\S*/.exec(rest)![0].toUpperCase();
    const cmd = rest.slice(t.length).trim();
    if (t === 'CMD' || t === 'NONE') {
      const crange = { start: range.end - cmd.length, end: range.end };
      const command: Args | undefined =
        t === 'NONE' && cmd === ''
          ? undefined
          : cmd.startsWith('[')
            ? { kind: 'json', items: (JSON.parse(cmd) as string[]).map((v) => ({ value: v, range: crange })), range: crange }
            : { kind: 'shell', text: cmd, range: crange };
      args = { kind: 'healthcheck', type: t, typeRange: range, command: command as never, range };
    } else args = { kind: 'text', text: rest, range };
  } else if ((KNOWN_INSTRUCTIONS as readonly string[]).includes(keyword)) args = { kind: 'words', words: words(rest, restStart), range };
  else args = { kind: 'text', text: rest, range };
  return {
    keyword,
    keywordText,
    known: (KNOWN_INSTRUCTIONS as readonly string[]).includes(keyword),
    keywordRange: { start, end: start + keywordText.length },
    flags,
    args,
    heredocs: [],
    trigger,
    startLine: 0,
    endLine: 0,
    range: { start, end: start + text.length },
    original: text,
  };
}

export function simpleAst(text: string, name = 'Dockerfile'): Dockerfile {
  const file = new SourceFile(name, text);
  const instructions: Instruction[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    if (line.trim() !== '' && !line.startsWith('#')) instructions.push(parseLine(line, offset));
    offset += line.length + 1;
  }
  return { file, directives: [], instructions, comments: [], escapeChar: '\\', range: { start: 0, end: text.length } };
}
