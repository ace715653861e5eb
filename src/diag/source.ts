/** A half-open range of UTF-16 offsets into a SourceFile's text. */
export interface Range {
  readonly start: number;
  readonly end: number;
}

/** A 1-based line and column (column counted in characters of the line as JS sees them). */
export interface Position {
  readonly line: number;
  readonly col: number;
}

/**
 * The text of one input file (a Dockerfile, a .dockerignore) with lazily computed line starts, so
 * nodes only carry offsets and line/column are derived when someone asks.
 */
export class SourceFile {
  private lineStarts: number[] | undefined;

  constructor(
    /** The name shown to users, e.g. `Dockerfile` or `app/Dockerfile.dev`. */
    readonly name: string,
    readonly text: string,
  ) {}

  private starts(): number[] {
    if (!this.lineStarts) {
      const starts = [0];
      const t = this.text;
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i);
        if (c === 10) starts.push(i + 1);
        else if (c === 13 && t.charCodeAt(i + 1) !== 10) starts.push(i + 1);
      }
      this.lineStarts = starts;
    }
    return this.lineStarts;
  }

  get lineCount(): number {
    return this.starts().length;
  }

  position(offset: number): Position {
    const starts = this.starts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - starts[lo]! + 1 };
  }

  /** The text of a 1-based line without its line terminator. */
  lineText(line: number): string {
    const starts = this.starts();
    const s = starts[line - 1];
    if (s === undefined) return '';
    const e = line < starts.length ? starts[line]! : this.text.length;
    return this.text.slice(s, e).replace(/\r?\n$|\r$/, '');
  }
}
