/**
 * COPY/ADD `--chmod` values: an octal mode (0 to 07777) or a symbolic mode as chmod(1) takes it
 * (`u=rwx,go=rx`, `+x`, `a-w`, `g+s`, `u+X`, `go=u-w`, …), applied to each copied file's own mode.
 * The symbolic grammar and its effect follow BSD setmode(3), which BuildKit uses through
 * tonistiigi/dchapes-mode: clauses without a `who` are limited by the umask (0022, a build's usual
 * one), `X` adds execute to directories and to files that already have an execute bit.
 */

export interface ChmodSpec {
  /** The value as written. */
  readonly text: string;
  /** Set for an octal value: the mode every copied file and new directory gets. */
  readonly octal?: number;
  /** The new permission bits for an item whose current mode is `mode`. */
  apply(mode: number, isDir: boolean): number;
}

/** The one-line advice shown with a bad --chmod value. */
export const CHMOD_HINT = 'write an octal mode such as 0755 or a symbolic mode such as u=rwx,go=rx, +x or a-w (see chmod(1))';

const UMASK = 0o022;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISTXT = 0o1000;
const STANDARD = S_ISUID | S_ISGID | 0o777;
const R = 0o444;
const W = 0o222;
const X = 0o111;

/** One step of the compiled mode, as setmode's bitcmd. */
interface Step {
  readonly op: '+' | '-' | 'X' | 'u' | 'g' | 'o';
  readonly bits: number;
  /** For u/g/o copies: which classes receive the bits, and whether to clear and/or set. */
  readonly to?: { readonly u: boolean; readonly g: boolean; readonly o: boolean; readonly clear: boolean; readonly set: boolean };
}

const WHO: Record<string, number> = { a: STANDARD, u: S_ISUID | 0o700, g: S_ISGID | 0o070, o: 0o007 };

/** Parses a --chmod value; undefined when it is neither a valid octal nor symbolic mode. */
export function parseChmod(text: string): ChmodSpec | undefined {
  if (text === '') return undefined;
  if (/^[0-9]/.test(text)) {
    if (!/^[0-7]+$/.test(text)) return undefined;
    const v = parseInt(text, 8);
    if (v > 0o7777) return undefined;
    return { text, octal: v, apply: () => v };
  }
  const steps = parseSymbolic(text);
  return steps && { text, apply: (mode, isDir) => applySteps(steps, mode & 0o7777, isDir) };
}

function parseSymbolic(text: string): Step[] | undefined {
  const mask = ~UMASK & 0o7777;
  const steps: Step[] = [];
  const add = (op: string, who: number, arg: number | string): void => {
    if (op === '=') {
      steps.push({ op: '-', bits: who || STANDARD });
      op = '+';
    }
    if (op === '+' || op === '-' || op === 'X') {
      steps.push({ op, bits: who ? who & (arg as number) : mask & (arg as number) });
      return;
    }
    const to = who
      ? { u: (who & 0o400) !== 0, g: (who & 0o040) !== 0, o: (who & 0o004) !== 0 }
      : { u: true, g: true, o: true };
    steps.push({ op: op as 'u' | 'g' | 'o', bits: who ? 0o7777 : mask, to: { ...to, clear: arg !== '+', set: arg !== '-' } });
  };
  let s = text;
  let equalDone = false;
  for (;;) {
    let who = 0;
    while (s.length > 0 && WHO[s[0]!] !== undefined) {
      who |= WHO[s[0]!]!;
      s = s.slice(1);
    }
    for (;;) {
      const op = s[0];
      if (op !== '+' && op !== '-' && op !== '=') return undefined;
      s = s.slice(1);
      if (op === '=') equalDone = false;
      who &= ~S_ISTXT;
      let perm = 0;
      let permX = 0;
      for (;; s = s.slice(1)) {
        const b = s[0] ?? '';
        if (b === 'r') perm |= R;
        else if (b === 'w') perm |= W;
        else if (b === 'x') perm |= X;
        else if (b === 'X') permX = op === '+' ? X : permX;
        else if (b === 's') perm |= who === 0 || (who & ~0o007) !== 0 ? S_ISUID | S_ISGID : 0;
        else if (b === 't') {
          // Sticky and set-id mean nothing for "other" alone.
          if (who === 0 || (who & ~0o007) !== 0) {
            who |= S_ISTXT;
            perm |= S_ISTXT;
          }
        } else if (b === 'u' || b === 'g' || b === 'o') {
          // `go=u-w`: copy another class's bits (flushing what came before).
          if (perm !== 0) add(op, who, perm);
          perm = 0;
          if (op === '=') equalDone = true;
          if (permX !== 0) add('X', who, permX);
          permX = 0;
          add(b, who, op);
        } else {
          if (perm !== 0 || (op === '=' && !equalDone)) {
            if (op === '=') equalDone = true;
            add(op, who, perm);
            perm = 0;
          }
          if (permX !== 0) add('X', who, permX);
          break;
        }
      }
      if (s === '') return steps;
      if (s[0] === ',') {
        s = s.slice(1);
        if (s === '') return undefined;
        break;
      }
    }
  }
}

function applySteps(steps: readonly Step[], old: number, isDir: boolean): number {
  let mode = old;
  for (const st of steps) {
    if (st.op === '+') mode |= st.bits;
    else if (st.op === '-') mode &= ~st.bits;
    else if (st.op === 'X') {
      if ((old & X) !== 0 || isDir) mode |= st.bits;
    } else {
      const value = st.op === 'u' ? (mode & 0o700) >> 6 : st.op === 'g' ? (mode & 0o070) >> 3 : mode & 0o007;
      const to = st.to!;
      const shifts = [to.u ? 6 : -1, to.g ? 3 : -1, to.o ? 0 : -1].filter((n) => n >= 0);
      if (to.clear) {
        const clr = to.set ? 0o7 : value;
        for (const sh of shifts) mode &= ~((clr << sh) & st.bits);
      }
      if (to.set) for (const sh of shifts) mode |= (value << sh) & st.bits;
    }
  }
  return mode & 0o7777;
}
