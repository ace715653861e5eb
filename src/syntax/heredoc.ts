/**
 * Heredoc openers (`<<EOF`, `<<-'EOF'`, `3<<EOF`, `<< EOF`) on an instruction line, read the way
 * BuildKit does: the line is split into shell words keeping quotes and escapes raw (`<<` swallows
 * the blanks after it), each word is matched against `^(\d*)<<(-?)\s*([^<]*)$`, and the delimiter
 * must unquote to exactly one word. A delimiter with any quoted part disables expansion.
 */

export interface HeredocOpener {
  readonly name: string;
  readonly expand: boolean;
  readonly chomp: boolean;
  readonly fileDescriptor: number;
  /** Offsets of the opener word within the scanned line. */
  readonly start: number;
  readonly end: number;
}

export type HeredocWordResult = { readonly ok: true; readonly opener?: Omit<HeredocOpener, 'start' | 'end'> } | { readonly ok: false; readonly message: string };

const isBlank = (c: string): boolean => c === ' ' || c === '\t';

/** Raw shell words with their offsets: quotes and `\` escapes kept, `<<` joined to the blanks after it. */
function rawWords(line: string): { text: string; start: number; end: number }[] {
  const words: { text: string; start: number; end: number }[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    while (i < line.length && !/\s/.test(line[i]!)) {
      const c = line[i]!;
      if (c === '\\') {
        i += 2;
      } else if (c === "'" || c === '"') {
        i++;
        while (i < line.length && line[i] !== c) i += c === '"' && line[i] === '\\' ? 2 : 1;
        i++;
      } else if (c === '<' && line[i + 1] === '<') {
        i += 2;
        if (line[i] === '-') i++;
        while (i < line.length && isBlank(line[i]!)) i++;
      } else {
        i++;
      }
    }
    i = Math.min(i, line.length);
    words.push({ text: line.slice(start, i), start, end: i });
  }
  return words;
}

/** Shell-unquotes a delimiter into words; `quotes` counts quote characters that acted as quotes. */
function unquoteWords(s: string): { words: string[]; quotes: number } | string {
  const words: string[] = [];
  let quotes = 0;
  let cur: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
      continue;
    }
    cur ??= '';
    if (c === '\\') {
      if (i + 1 < s.length) cur += s[++i];
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return 'unexpected end of statement while looking for matching single-quote';
      cur += s.slice(i + 1, end);
      quotes += 2;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === '\\' && j + 1 < s.length && '"\\$`'.includes(s[j + 1]!)) j++;
        cur += s[j];
      }
      if (j >= s.length) return 'unexpected end of statement while looking for matching double-quote';
      quotes += 2;
      i = j;
    } else {
      cur += c;
    }
  }
  if (cur !== undefined) words.push(cur);
  return { words, quotes };
}

const HEREDOC_WORD = /^(\d*)<<(-?)\s*([^<]*)$/;

/** ParseHeredoc: one word → a heredoc opener, "not a heredoc" (ok without opener), or an error. */
export function parseHeredocWord(word: string): HeredocWordResult {
  const m = HEREDOC_WORD.exec(word);
  if (!m || !m[3]) return { ok: true };
  const unquoted = unquoteWords(m[3]);
  if (typeof unquoted === 'string') return { ok: false, message: unquoted };
  if (unquoted.words.length !== 1) return { ok: true };
  const name = unquoted.words[0]!;
  return { ok: true, opener: { name, expand: unquoted.quotes === 0, chomp: m[2] === '-', fileDescriptor: m[1] ? Number(m[1]) : 0 } };
}

/** All heredoc openers on a line, in order. */
export function heredocsFromLine(line: string): HeredocOpener[] | { error: string; start: number; end: number } {
  const out: HeredocOpener[] = [];
  for (const w of rawWords(line)) {
    if (!w.text.includes('<<')) continue;
    const r = parseHeredocWord(w.text);
    if (!r.ok) return { error: r.message, start: w.start, end: w.end };
    if (r.opener) out.push({ ...r.opener, start: w.start, end: w.end });
  }
  return out;
}

/** `<<-` bodies: strip leading tabs from every line (BuildKit's ChompHeredocContent). */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}
