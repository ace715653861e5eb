import type { Advice } from '../progress/index.js';
import { cascade, instructionOf, lines, steps, type BuildFacts, type MissFact, type OutlineInstruction } from './types.js';
import { usesVariable } from './uses.js';

/**
 * An ARG or ENV whose new value re-ran steps that do not use it (moby/moby#20136): a RUN's key
 * holds every ARG and ENV in scope, so a changed value re-runs the first RUN after the declaration
 * and everything after it. Moving the declaration just above the first instruction that names the
 * variable keeps the steps in between cached. Drawn from the first miss of a stage whose only
 * differences are build args or env values.
 */
export function argEnvEarly(facts: BuildFacts): Advice[] {
  const out: Advice[] = [];
  const firstMisses = facts.misses.filter((m, i) => facts.misses.findIndex((x) => x.stage === m.stage) === i);
  for (const m of firstMisses) {
    if (!m.parts.length || !m.parts.every((p) => p.kind === 'build-arg' || p.kind === 'env')) continue;
    const at = instructionOf(facts, m.stage, m.index);
    const instructions = facts.stages.find((s) => s.index === m.stage)?.instructions ?? [];
    if (!at) continue;
    const names = [...new Set(m.parts.flatMap((p) => p.subjects ?? []))];
    const sameVariables = (p: MissFact) => (p.kind === 'build-arg' || p.kind === 'env') && (p.subjects ?? []).every((n) => names.includes(n));
    const found = names.map((name) => {
      const decl = instructions.filter((i) => i.line < at.line && i.declares.includes(name)).at(-1);
      const user = decl && instructions.find((i) => i.line > decl.line && usesVariable(i, name));
      return { name, decl, user };
    });
    // Every changed variable has to move for a step to stay cached; one inherited from the base image cannot.
    if (!found.every((f) => f.decl)) continue;
    const users = found.flatMap((f) => (f.user ? [f.user] : []));
    const until = users.length ? Math.min(...users.map((u) => u.line)) : Infinity;
    const rerun = [m, ...cascade(facts, m, sameVariables)].flatMap((x) => instructionOf(facts, x.stage, x.index) ?? []).filter((i) => i.line < until);
    if (!rerun.length) continue;
    const last = instructions.filter((i) => i.line < until).at(-1)!;
    for (const f of found) out.push(advise(f.name, f.decl!, users.find((u) => u.line === until), last, rerun.map((r) => r.line)));
  }
  return out;
}

function advise(name: string, decl: OutlineInstruction, user: OutlineInstruction | undefined, last: OutlineInstruction, rerun: readonly number[]): Advice {
  const what = `${decl.keyword} ${name} (line ${decl.line}) changed and re-ran ${steps(rerun.length)} that ${rerun.length === 1 ? 'does' : 'do'} not use it (${lines(rerun)})`;
  const keeps = `which keeps ${rerun.length === 1 ? 'that step' : `those ${rerun.length} steps`} cached`;
  const text = user
    ? `${what}; move it below line ${last.endLine}, just above line ${user.line} (${user.keyword}), the first to use it, ${keeps}`
    : `${what}, and no later instruction names it; remove it, or move it below line ${last.endLine} (the end of the stage), ${keeps}`;
  return { rule: 'arg-env-early', lines: user ? [decl.line, user.line] : [decl.line], text, name, moveBelow: last.endLine, keeps: rerun.length };
}
