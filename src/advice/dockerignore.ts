import type { Advice } from '../progress/index.js';
import { instructionOf, type BuildFacts } from './types.js';

/** Consecutive builds a file must have changed in before it is called one that changes on every build. */
export const CHURN_BUILDS = 3;

/**
 * Files that changed in each of the last few builds (generated files, timestamps, build output
 * written into the context) and made a COPY re-run each time: a `.dockerignore` entry keeps them
 * out of the context. `minBuilds`: how many consecutive builds count (wharf bench, where nothing
 * edits the context between runs, knows better than a count and passes its own).
 */
export function churningFiles(facts: BuildFacts, minBuilds = CHURN_BUILDS, exclude: ReadonlySet<string> = new Set()): Advice[] {
  const files = [...facts.changed].filter(([p, n]) => n >= minBuilds && !exclude.has(p)).map(([p]) => p).sort();
  if (!files.length) return [];
  const copies = facts.misses
    .filter((m) => m.parts.some((p) => p.kind === 'files' && p.subjects?.some((s) => files.includes(s))))
    .flatMap((m) => instructionOf(facts, m.stage, m.index) ?? []);
  const lines = [...new Set(copies.map((c) => c.line))].sort((a, b) => a - b);
  const builds = Math.min(...files.map((f) => facts.changed.get(f)!));
  const which = copies.map((c) => `${c.text.split('\n')[0]!.trim()} (line ${c.line})`).join(', ');
  const they = files.length === 1 ? `${files[0]} changed` : `${files.join(', ')} changed`;
  const text = `${they} in each of the last ${builds} builds, re-running ${which || 'the steps that copy it'} every time; if ${files.length === 1 ? 'it is' : 'they are'} generated (a timestamp, build output), add to .dockerignore: ${files.map((f) => `/${f}`).join(' ')}`;
  return [{ rule: 'dockerignore', lines, text, files }];
}
