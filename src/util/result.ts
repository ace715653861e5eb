/** Expected failures are values; throwing is for bugs. */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

/** Marks a branch the type system proves impossible; reaching it at run time is a bug. */
export function unreachable(value: never, what = 'value'): never {
  throw new Error(`unreachable: unexpected ${what} ${JSON.stringify(value)}`);
}
