import type { Advice } from '../progress/index.js';
import { instructionOf, type BuildFacts } from './types.js';

/** Consecutive builds a file must have changed in before it is called one that changes on every build. */
export const CHURN_BUILDS = 3;

/**
 * Files that changed in each of the last few builds (generated files, timestamps, build output
 * written into the context) and made a COPY re-run each time: a `.dockerignore` entry keeps them
 * out of the context. One item per file, so a caller that knows a file was changed on purpose
 * (wharf bench --change) can drop its item.
 */
export function churningFiles(facts: BuildFacts, minBuilds = CHURN_BUILDS): Advice[] {
  const files = [...facts.changed].filter(([, n]) => n >= minBuilds).map(([p]) => p).sort();
  return files.map((file) => {
    const copies = facts.misses
      .filter((m) => m.parts.some((p) => p.kind === 'files' && p.subjects?.includes(file)))
      .flatMap((m) => instructionOf(facts, m.stage, m.index) ?? []);
    const which = copies.map((c) => `${c.text.split('\n')[0]!.trim()} (line ${c.line})`).join(', ');
    const text =
      `${file} changed in each of the last ${facts.changed.get(file)} builds, re-running ${which || 'the steps that copy it'} every time; ` +
      `if it is generated (a timestamp, build output), add /${file} to .dockerignore`;
    return { rule: 'dockerignore' as const, lines: [...new Set(copies.map((c) => c.line))].sort((a, b) => a - b), text, files: [file] };
  });
}
