import type { Range, SourceFile } from '../diag/index.js';
import type { Dockerfile } from './ast.js';

/** A range as `wharf parse --format json` prints it: offsets plus 1-based line/column. */
export interface JsonRange {
  readonly start: { readonly offset: number; readonly line: number; readonly col: number };
  readonly end: { readonly offset: number; readonly line: number; readonly col: number };
}

const isRange = (v: unknown): v is Range =>
  typeof v === 'object' && v !== null && Object.keys(v).length === 2 && typeof (v as Range).start === 'number' && typeof (v as Range).end === 'number';

/** The AST as plain JSON: the SourceFile becomes its name, every Range gets line/column. */
export function astToJson(ast: Dockerfile): unknown {
  const file = ast.file;
  const pos = (offset: number) => ({ offset, ...file.position(offset) });
  const convert = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(convert);
    if (isRange(v)) return { start: pos(v.start), end: pos(v.end) } satisfies JsonRange;
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = k === 'file' ? (x as SourceFile).name : convert(x);
      return out;
    }
    return v;
  };
  return convert(ast);
}
