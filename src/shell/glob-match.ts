/**
 * The matcher behind `${v#p}`, `${v%p}` and `${v/p/r}`: a shell pattern of literals, `?` (any
 * character but a newline) and `*` (a run of them), matched with the leftmost-first semantics of
 * the Go regexp BuildKit builds from it. A JavaScript RegExp gave the same answers but backtracks:
 * `${A##*a*a*a*a*a*a*a*a*a*a*b}` on a 40-character value never finished. This is the same
 * backtracking search with every failed (pattern position, value position) remembered, so each is
 * tried once: O(pattern × value) steps at worst, and a step budget beyond that.
 */

export type Token = { readonly kind: 'literal'; readonly cp: number } | { readonly kind: 'any' } | { readonly kind: 'star' };

export interface Match {
  /** UTF-16 offsets, as String.prototype.slice takes them. */
  readonly index: number;
  readonly end: number;
}

/** More steps than this for one pattern on one value is refused rather than ground through. */
export const MAX_STEPS = 4_000_000;

export class PatternTooComplex extends Error {}

/** The failed states: a bitmap while it is small (2^27 states: 16 MB), else a set (at most MAX_STEPS entries). */
interface Failures {
  has(k: number): boolean;
  add(k: number): unknown;
}
const BITMAP_STATES = 2 ** 27;

class Bitmap implements Failures {
  private readonly bits: Uint8Array;
  constructor(size: number) {
    this.bits = new Uint8Array(Math.ceil(size / 8));
  }
  has(k: number): boolean {
    return (this.bits[k >>> 3]! & (1 << (k & 7))) !== 0;
  }
  add(k: number): void {
    this.bits[k >>> 3]! |= 1 << (k & 7);
  }
}

const NEWLINE = 10;

export class GlobMatcher {
  private value: string | undefined;
  private cps: number[] = [];
  /** UTF-16 offset of each code point, and of the end. */
  private offsets: number[] = [];
  private failed: Failures = new Set<number>();
  private steps = 0;

  constructor(
    private readonly tokens: readonly Token[],
    /** `*` takes as many characters as it can first (else as few). */
    private readonly greedy: boolean,
    /** Only a match starting at offset 0 counts (a regexp's `^`). */
    private readonly anchored: boolean,
  ) {}

  /** The leftmost-first match starting at or after UTF-16 offset `from`, as RegExp.exec with lastIndex = from. */
  exec(value: string, from: number): Match | undefined {
    this.load(value);
    const n = this.cps.length;
    for (let s = this.firstAtOrAfter(from); s <= n; s++) {
      if (this.anchored && s > 0) return undefined;
      const end = this.matchFrom(s);
      if (end >= 0) return { index: this.offsets[s]!, end: this.offsets[end]! };
    }
    return undefined;
  }

  /** The first code point index whose offset is >= from (n + 1 when none). */
  private firstAtOrAfter(from: number): number {
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private load(value: string): void {
    if (this.value === value) return;
    this.value = value;
    this.cps = [];
    this.offsets = [];
    let off = 0;
    for (const ch of value) {
      this.offsets.push(off);
      this.cps.push(ch.codePointAt(0)!);
      off += ch.length;
    }
    this.offsets.push(off);
    // Whether the rest of the pattern can match at a position does not depend on where the match
    // started, so failures stay true for every start on the same value.
    const states = (this.tokens.length + 1) * (this.cps.length + 1);
    this.failed = states <= BITMAP_STATES ? new Bitmap(states) : new Set();
    this.steps = 0;
  }

  /** The end (code point index) of the first match from `start` in backtracking order, or -1. */
  private matchFrom(start: number): number {
    const m = this.tokens.length;
    const n = this.cps.length;
    const key = (pi: number, vi: number) => pi * (n + 1) + vi;
    // Frames of (pattern index, value index, alternatives tried): an explicit stack, so a long
    // value cannot overflow the call stack.
    const pis: number[] = [0];
    const vis: number[] = [start];
    const alts: number[] = [0];
    while (pis.length > 0) {
      if (++this.steps > MAX_STEPS) throw new PatternTooComplex();
      const top = pis.length - 1;
      const pi = pis[top]!;
      const vi = vis[top]!;
      if (pi === m) return vi;
      const alt = alts[top]!;
      const tok = this.tokens[pi]!;
      let next: [number, number] | undefined;
      if (alt === 0 && this.failed.has(key(pi, vi))) {
        alts[top] = 2;
      } else if (tok.kind === 'star') {
        const consumeFirst = this.greedy;
        if (alt < 2) {
          alts[top] = alt + 1;
          const consume = (alt === 0) === consumeFirst;
          if (!consume) next = [pi + 1, vi];
          else if (vi < n && this.cps[vi] !== NEWLINE) next = [pi, vi + 1];
          else continue;
        }
      } else if (alt === 0) {
        alts[top] = 2;
        const cp = this.cps[vi];
        if (vi < n && (tok.kind === 'any' ? cp !== NEWLINE : cp === tok.cp)) next = [pi + 1, vi + 1];
      }
      if (next) {
        pis.push(next[0]);
        vis.push(next[1]);
        alts.push(0);
        continue;
      }
      if (alts[top]! >= 2) {
        this.failed.add(key(pi, vi));
        pis.pop();
        vis.pop();
        alts.pop();
      }
    }
    return -1;
  }
}
