/**
 * `make()` run once, at the first call: for what loading a module should not do. A class that
 * extends one of node:stream's loads node:stream where it is declared (~0.9 ms of a command that
 * streams nothing, such as a build of file steps; bench/README.md, "Speed, eleventh round"), so such
 * classes are declared inside `make`, and the bundle requires node:stream on first use.
 */
export function lazily<T>(make: () => T): () => T {
  let made: { readonly value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
