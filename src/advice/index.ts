/**
 * advice: concrete, checkable advice about a Dockerfile from what wharf measured, each item
 * naming the lines it is about. Pure functions over plain data (types.ts); the engine gives the
 * data, renderers and the CLI print what comes back.
 *
 *   adviseBuild(facts)              after a build: the rules that read its misses (build --explain, bench)
 *     argEnvEarly(facts)            an ARG/ENV that re-ran steps not using it: move it below line N
 *     broadCopy(facts)              COPY . early in a stage: copy the manifests first
 *     churningFiles(facts, n)       files that changed in each of the last n builds: .dockerignore them
 *   nonReproducible(reruns)         steps whose layer differs between two runs with the same key (bench)
 *   mergeAdvice(lists)              one list from several builds' advice, repeated items once
 */
import type { Advice } from '../progress/index.js';
import { argEnvEarly } from './arg-env.js';
import { broadCopy } from './broad-copy.js';
import { churningFiles } from './dockerignore.js';
import type { BuildFacts } from './types.js';

export { argEnvEarly } from './arg-env.js';
export { broadCopy } from './broad-copy.js';
export { churningFiles, CHURN_BUILDS } from './dockerignore.js';
export { nonReproducible, type Rerun } from './reproducible.js';
export { usesVariable } from './uses.js';
export type { BuildFacts, MissFact, OutlineInstruction, OutlineStage, StepMiss } from './types.js';

export function adviseBuild(facts: BuildFacts): Advice[] {
  return [...argEnvEarly(facts), ...broadCopy(facts), ...churningFiles(facts)];
}

/**
 * Several builds' advice as one list, in first-seen order; an item given again (same rule, lines
 * and subject) keeps its latest wording, whose counts cover the most builds.
 */
export function mergeAdvice(lists: readonly (readonly Advice[])[]): Advice[] {
  const byKey = new Map<string, Advice>();
  for (const a of lists.flat()) byKey.set(JSON.stringify([a.rule, a.lines, a.name ?? '', a.rule === 'dockerignore' ? a.files : []]), a);
  return [...byKey.values()];
}
