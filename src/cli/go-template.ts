/**
 * The part of Go's text/template that scripts give `--format` (docker's inspect, images, history):
 * text, `{{.Field.Sub}}`, `{{.}}`, the functions `json`, `index`, `join`, `upper`, `lower`, and
 * pipes into them (`{{.Config.Env | json}}`). `\t` and `\n` in the format are tab and newline, as
 * docker's formatter makes them. Anything else (`if`, `range`, variables, other functions) is an
 * error that names the construct, never a silently wrong line.
 *
 *   const t = compileTemplate('{{.Repository}}:{{.Tag}}')   // throws UserError when outside the subset
 *   t(row) → string
 */
import { UserError } from '../util/index.js';

export type Template = (data: unknown) => string;

type Arg = { kind: 'field'; path: string[] } | { kind: 'string'; value: string } | { kind: 'number'; value: number };
type Call = { fn: string | undefined; args: Arg[] };

const FUNCS = new Set(['json', 'index', 'join', 'upper', 'lower']);

const bad = (format: string, what: string, hint = 'wharf supports fields ({{.Id}}, {{.Config.Env}}) and the functions json, index, join, upper and lower') =>
  new UserError('cli.bad-format', `--format ${JSON.stringify(format)}: ${what}`, hint);

export function compileTemplate(format: string): Template {
  const text = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const parts: (string | Call[])[] = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf('{{', at);
    if (open < 0) {
      parts.push(text.slice(at));
      break;
    }
    parts.push(text.slice(at, open));
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw bad(format, `unclosed action starting at ${JSON.stringify(text.slice(open, open + 20))}`, 'close it with }}');
    parts.push(parseAction(format, text.slice(open + 2, close).replace(/^-\s|\s-$/g, '').trim()));
    at = close + 2;
  }
  return (data) => parts.map((p) => (typeof p === 'string' ? p : show(p.reduce<unknown>((prev, call, i) => apply(format, call, data, i === 0 ? undefined : prev), undefined)))).join('');
}

function parseAction(format: string, src: string): Call[] {
  if (!src) throw bad(format, 'empty action {{}}');
  if (src.startsWith('/*')) throw bad(format, 'comments are not supported');
  return src.split('|').map((seg) => {
    const words = tokens(format, seg.trim());
    if (!words.length) throw bad(format, `empty command in {{${src}}}`);
    const [head, ...rest] = words;
    if (head!.kind === 'word') {
      if (!FUNCS.has(head!.text)) {
        const what = head!.text.startsWith('$') ? `variables (${head!.text}) are not supported` : `${JSON.stringify(head!.text)} is not supported`;
        throw bad(format, what);
      }
      return { fn: head!.text, args: rest.map((w) => arg(format, w)) };
    }
    if (rest.length) throw bad(format, `{{${src}}}: a field takes no arguments`);
    return { fn: undefined, args: [arg(format, head!)] };
  });
}

type Token = { kind: 'word' | 'field' | 'string' | 'number'; text: string };

function tokens(format: string, seg: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:("(?:[^"\\]|\\.)*"|`[^`]*`)|(\.[A-Za-z0-9_.]*)|(-?\d+)|([^\s"`]+))/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < seg.length && (m = re.exec(seg))) {
    if (m[1]) out.push({ kind: 'string', text: m[1].startsWith('`') ? m[1].slice(1, -1) : (JSON.parse(m[1]) as string) });
    else if (m[2]) out.push({ kind: 'field', text: m[2] });
    else if (m[3]) out.push({ kind: 'number', text: m[3] });
    else if (m[4]) out.push({ kind: 'word', text: m[4] });
  }
  if (re.lastIndex < seg.trimEnd().length) throw bad(format, `cannot read ${JSON.stringify(seg.slice(re.lastIndex))}`);
  return out;
}

function arg(format: string, t: Token): Arg {
  if (t.kind === 'string') return { kind: 'string', value: t.text };
  if (t.kind === 'number') return { kind: 'number', value: Number(t.text) };
  if (t.kind === 'field') return { kind: 'field', path: t.text === '.' ? [] : t.text.slice(1).split('.') };
  throw bad(format, `${JSON.stringify(t.text)} is not supported as an argument`);
}

function field(format: string, data: unknown, path: readonly string[]): unknown {
  let v = data;
  for (const name of path) {
    if (v === null || v === undefined) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw bad(format, `cannot read .${name}: the value there is ${Array.isArray(v) ? 'a list' : typeof v}`, 'use index for lists and maps');
    if (!(name in v)) throw bad(format, `no field .${name} (fields here: ${Object.keys(v).join(', ')})`, 'fields are case-sensitive, as in docker');
    v = (v as Record<string, unknown>)[name];
  }
  return v;
}

function apply(format: string, call: Call, data: unknown, piped: unknown): unknown {
  const args = call.args.map((a) => (a.kind === 'field' ? field(format, data, a.path) : a.value));
  if (piped !== undefined || call.fn !== undefined) {
    // A pipe's value is the last argument of the next command, as in Go.
    if (piped !== undefined) args.push(piped);
  }
  switch (call.fn) {
    case undefined:
      return args[0];
    case 'json':
      return JSON.stringify(args[0] ?? null);
    case 'upper':
      return show(args[0]).toUpperCase();
    case 'lower':
      return show(args[0]).toLowerCase();
    case 'join': {
      const [list, sep] = args;
      if (!Array.isArray(list) || typeof sep !== 'string') throw bad(format, 'join takes a list and a separator: {{join .RepoTags ","}}');
      return list.map(show).join(sep);
    }
    case 'index': {
      let v = args[0];
      for (const k of args.slice(1)) {
        if (Array.isArray(v) && typeof k === 'number') v = v[k];
        else if (v && typeof v === 'object' && typeof k === 'string') v = (v as Record<string, unknown>)[k];
        else throw bad(format, `index: cannot index ${Array.isArray(v) ? 'a list' : typeof v} with ${JSON.stringify(k)}`);
      }
      return v;
    }
    default:
      throw bad(format, `${call.fn} is not supported`);
  }
}

/** A value as Go's fmt prints it in a template: lists `[a b]`, maps `map[k:v]`, nothing `<no value>`. */
function show(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  if (typeof v === 'object') {
    return `map[${Object.keys(v).sort().map((k) => `${k}:${show((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return String(v);
}
