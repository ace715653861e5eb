import type { Advice } from '../progress/index.js';
import { cascade, instructionOf, lines, steps, type BuildFacts } from './types.js';

const SHOWN = 5;

// Files that list a project's dependencies: what an install step reads.
const MANIFESTS = [
  'package.json', 'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'go.mod', 'go.sum', 'requirements.txt',
  'Pipfile', 'Pipfile.lock', 'pyproject.toml', 'poetry.lock', 'Cargo.toml', 'Cargo.lock', 'Gemfile', 'Gemfile.lock',
  'composer.json', 'composer.lock', 'pom.xml', 'build.gradle', 'mix.exs', 'mix.lock',
];

/** `.`, `./`, `*`, `./*`, `/`: the whole context. */
const broad = (source: string): boolean => ['', '.', '*'].includes(source.replace(/^\.\//, '').replace(/\/+$/, '')) || source === '/';

/**
 * A COPY of the whole context that re-ran the steps after it because some file changed: they
 * usually need only the manifests (package.json, go.mod, requirements.txt…), so copying those
 * first and the rest after those steps keeps them cached when only other files change. Named with
 * the files that changed.
 */
export function broadCopy(facts: BuildFacts): Advice[] {
  const out: Advice[] = [];
  for (const m of facts.misses) {
    if (!m.parts.length || !m.parts.every((p) => p.kind === 'files')) continue;
    const copy = instructionOf(facts, m.stage, m.index);
    if (!copy?.sources?.some(broad)) continue;
    const after = cascade(facts, m).flatMap((x) => instructionOf(facts, x.stage, x.index) ?? []);
    if (!after.length) continue;
    const files = [...new Set(m.parts.flatMap((p) => p.subjects ?? []))];
    const named = files.slice(0, SHOWN).join(', ') + (files.length > SHOWN ? ` and ${files.length - SHOWN} more` : '');
    const manifests = MANIFESTS.filter((f) => facts.contextFiles?.includes(f));
    const dest = copy.dest === '.' ? './' : (copy.dest ?? './');
    const first = manifests.length ? `COPY ${manifests.join(' ')} ${dest}` : 'e.g. COPY package.json package-lock.json ./';
    const short = copy.text.split('\n')[0]!.trim();
    const text =
      `${short} (line ${copy.line}) copies the whole context, so a change to any file re-runs the ${steps(after.length)} after it ` +
      `(${lines(after.map((a) => a.line))}; changed this time: ${named || 'the copied files'}); copy the manifests first ` +
      `(${first}) and run the steps that need only them (the install), then ${short}, so those steps re-run only when a manifest changes`;
    out.push({ rule: 'broad-copy', lines: [copy.line, ...after.map((a) => a.line)], text, files });
  }
  return out;
}
