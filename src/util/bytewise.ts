/**
 * Compares strings by their UTF-8 bytes, as Go sorts names (and so BuildKit, and tar layers).
 * UTF-16 order differs from byte order only around surrogate pairs, so only strings holding
 * those (or code units from U+D800 up) are encoded to compare.
 */
export function compareBytewise(a: string, b: string): number {
  if (/[\ud800-\uffff]/.test(a) || /[\ud800-\uffff]/.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : a > b ? 1 : 0;
}
