/**
 * Appends every item in a loop: `into.push(...items)` passes each item as an argument, which
 * overflows the stack past ~120,000 of them (a COPY of a large context).
 */
export function appendAll<T>(into: T[], items: readonly T[]): void {
  for (const x of items) into.push(x);
}
