/**
 * solver: runs a plan's stages on one p-queue — a stage starts when the stages it reads are done,
 * independent stages run side by side, each vertex runs once — looks every filesystem step up in
 * the cache first, and reports what happens as events (it never prints).
 *
 *   const result = await solve(plan, ops, { cache, emit, noCache, concurrency, signal, baseline, lineOf })
 *   a miss is explained (miss.ts) against the same step of the previous build of the target (baseline)
 *
 * What a step does is the caller's (`VertexOps`, implemented by ops/); the solver owns order, the
 * cache lookup, cancellation (the first failure aborts every other step) and timings.
 */
export type { MissPart } from './miss.js';
export { solve, type ExplainedMiss, type KeyInputs, type StepIo, type StepKeyInputs, type StepLayer, type StepSummary, type VertexOps } from './solve.js';
