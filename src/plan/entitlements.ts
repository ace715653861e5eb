import { error, type Diagnostic, type SourceFile } from '../diag/index.js';
import type { RunInstruction } from '../instructions/index.js';
import type { Plan } from './types.js';

/**
 * BuildKit's entitlements: what a Dockerfile may only do when the person running the build says
 * so (`--allow`). `RUN --network=host` needs `network.host`, `RUN --security=insecure` needs
 * `security.insecure`. As buildx does, `build --network host` grants network.host itself (the
 * user asked for the host network on the command line).
 *
 * Checked on the plan, before anything runs, for the steps the target needs; a refused step is a
 * diagnostic pointing at its flag.
 */
export type Entitlement = 'network.host' | 'security.insecure';
export const ENTITLEMENTS: readonly Entitlement[] = ['network.host', 'security.insecure'];

export function checkEntitlements(plan: Plan, allowed: ReadonlySet<Entitlement>, file: SourceFile): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const stage of plan.stages) {
    for (const v of stage.vertices) {
      if (v.kind !== 'run') continue;
      const ins = v.instruction as RunInstruction;
      const wanted: [Entitlement, string, string][] = [];
      if (ins.network === 'host') wanted.push(['network.host', 'network', 'host']);
      if (ins.security === 'insecure') wanted.push(['security.insecure', 'security', 'insecure']);
      for (const [ent, flagName, value] of wanted) {
        if (allowed.has(ent)) continue;
        const flag = [...ins.node.flags].reverse().find((f) => f.name === flagName);
        // A base image's ONBUILD trigger was parsed from its config, not from this file.
        const here = !v.label.startsWith('[onbuild]');
        out.push(error(
          'plan.entitlement-denied',
          `${here ? '' : `${v.label}: `}RUN --${flagName}=${value} needs the ${ent} entitlement, which this build was not given`,
          here ? file : undefined,
          here ? flag?.range ?? ins.node.range : undefined,
          `add --allow ${ent} to the build command if you trust this Dockerfile`,
        ));
      }
    }
  }
  return out;
}
